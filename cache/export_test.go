package cache

// ForceRefreshAhead makes every GetOrLoad hit of c start a refresh ahead
// (c needs WithRefreshAhead), so that a test can race one with a write.
func ForceRefreshAhead[V any](c *Cache[V]) { c.forceRefresh.Store(true) }

// Refreshing reports whether a refresh ahead of c is under way.
func Refreshing[V any](c *Cache[V]) bool {
	busy := false
	c.refreshing.Range(func(any, any) bool { busy = true; return false })
	return busy
}

// OnBehindWait makes f run whenever a write-behind Set of c waits for
// another Set of the same key (stripe) to be queued first.
func OnBehindWait[V any](c *Cache[V], f func(key string)) { c.behind.onWait = f }
