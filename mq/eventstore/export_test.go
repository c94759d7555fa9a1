package eventstore

// SetAfterEnqueue sets the PostgreSQL backend's hook run between the
// outbox Enqueue and the commit of an Append; an error rolls it back.
func SetAfterEnqueue(b Backend, f func() error) { b.(*postgres).afterEnqueue = f }
