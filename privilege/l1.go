package privilege

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// l1Key is a request (without attributes) at a store version. Only
// decisions that no condition took part in are cached (attributes are not
// in the key), and the version makes every entry made before a write
// unreachable the moment Check sees the new version.
type l1Key struct {
	subject, resource, action string
	version                   uint64
}

// l1Entry is a cached decision and the instant it stops being valid: the
// earliest of the L1 TTL and the expiry of any grant it relied on, so an
// expiring grant stops counting without a write.
type l1Entry struct {
	d     Decision
	until time.Time
}

// l1 is the in-process decision cache: golang-lru's plain LRU, with the
// expiry checked here against the engine's clock. Not its expirable.LRU:
// with a TTL that one starts a goroutine nothing can stop (v2.0.7), which
// would outlive Close, and its Get reads the wall clock a second time on
// every hit — half the cost of a hit on this machine. Our own expiry also
// honours grant expiries and the test clock.
type l1 struct {
	lru *lru.Cache[l1Key, l1Entry]
	ttl time.Duration
}

func newL1(size int, ttl time.Duration) *l1 {
	if size <= 0 {
		return nil
	}
	c, err := lru.New[l1Key, l1Entry](size)
	if err != nil { // only for size <= 0, excluded above
		return nil
	}
	return &l1{lru: c, ttl: ttl}
}

func (c *l1) get(k l1Key, now time.Time) (Decision, bool) {
	if c == nil {
		return Decision{}, false
	}
	e, ok := c.lru.Get(k)
	if !ok || !now.Before(e.until) {
		return Decision{}, false
	}
	return e.d, true
}

func (c *l1) put(k l1Key, d Decision, now, validUntil time.Time) {
	if c == nil {
		return
	}
	until := now.Add(c.ttl)
	if !validUntil.IsZero() && validUntil.Before(until) {
		until = validUntil
	}
	c.lru.Add(k, l1Entry{d: d, until: until})
}

func (c *l1) purge() {
	if c != nil {
		c.lru.Purge()
	}
}
