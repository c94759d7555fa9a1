package session

// memSessions is MemoryStore's session state. (core)
type memSessions struct{}
type redisSessions struct{}
type pgSessions struct{}

const pgSessionsDDL = ""
