package session

import "sync/atomic"

// closeFlag marks a store closed.
type closeFlag struct{ b atomic.Bool }

func (c *closeFlag) close() bool    { return c.b.CompareAndSwap(false, true) }
func (c *closeFlag) isClosed() bool { return c.b.Load() }
