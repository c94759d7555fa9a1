package greyroute

import (
	"math/rand/v2"
	"testing"
	"time"
)

// seedRand makes the balancers' randomness reproducible for one test.
func seedRand(t testing.TB, seed uint64) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	old := randUint64
	randUint64 = r.Uint64
	t.Cleanup(func() { randUint64 = old })
}

// fakeClock replaces the EWMA / forced-probe clock with one the test moves.
type fakeClock struct{ ns int64 }

func (c *fakeClock) advance(d int64) { c.ns += d }

func useFakeClock(t testing.TB) *fakeClock {
	c := &fakeClock{ns: 1}
	old := nowNanos
	nowNanos = func() int64 { return c.ns }
	t.Cleanup(func() { nowNanos = old })
	return c
}

// WithLoadHook calls f after the Router installs a table: what is a
// service, "{tenants}", "resync" (a full resync succeeded), "registry"
// (a Registry call failed) or "stale" (an outage began).
func WithLoadHook(f func(what string, rev int64)) Option {
	return func(c *config) error { c.router.hooks.loaded = f; return nil }
}

// WithReconnectHook calls f before the Router retries its subscription
// after an error; a test holds it to make the Router miss events.
func WithReconnectHook(f func()) Option {
	return func(c *config) error { c.router.hooks.reconnect = f; return nil }
}

// RouterConns returns the calls picked on instance id of service by r and
// not yet ended by Done (-1 when r holds no such instance).
func RouterConns(r *Router, service, id string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.states[service][id]
	if s == nil {
		return -1
	}
	return s.conns.Load()
}

// WithExpiryWake makes the Router check its held expiries whenever ch
// yields, as its timer does when the earliest passes; a test that moves
// the Router's clock (WithClock) wakes it so instead of sleeping.
func WithExpiryWake(ch <-chan struct{}) Option {
	return func(c *config) error { c.router.hooks.expiryWake = ch; return nil }
}

// WithReportHook calls f after each flush of the Router's breaker
// reports, so a test waits for the write instead of polling.
func WithReportHook(f func()) Option {
	return func(c *config) error { c.router.hooks.reported = f; return nil }
}

// SetRegistryTimeout bounds each Registry.Instances call by d for one
// test, so a test of a hung registry does not wait the default.
func SetRegistryTimeout(t testing.TB, d time.Duration) {
	old := registryTimeout
	registryTimeout = d
	t.Cleanup(func() { registryTimeout = old })
}

// SeedRand makes the balancers' randomness reproducible for one test
// (not safe with concurrent Picks).
func SeedRand(t testing.TB, seed uint64) { seedRand(t, seed) }
