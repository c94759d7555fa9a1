package eventstore

// SetAfterEnqueue sets the PostgreSQL backend's hook run between the
// outbox Enqueue and the commit of an Append; an error rolls it back.
func SetAfterEnqueue(b Backend, f func() error) { b.(*postgres).afterEnqueue = f }

// SetAfterCommit sets the PostgreSQL backend's hook run after an
// Append's commit, before it returns.
func SetAfterCommit(b Backend, f func()) { b.(*postgres).afterCommit = f }
