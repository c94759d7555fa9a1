package greyroute

import (
	"testing"
	"time"
)

// TestExpiryRoundsBatched: however many services hold expiries that have
// passed, or pass a moment apart, the loader's timer waits at least
// expiryBatch between rounds, each of which scans every service; and no
// longer than the resync period when nothing expires.
func TestExpiryRoundsBatched(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	r := &Router{cfg: defaultConfig()}
	r.cfg.clock = func() time.Time { return now }
	services := map[string]*svcSlot{}
	for i, exp := range []time.Time{now.Add(-time.Second), now.Add(time.Millisecond), now.Add(2 * time.Millisecond)} {
		slot := &svcSlot{}
		slot.t.Store(&svcTable{expires: exp})
		services[string(rune('a'+i))] = slot
	}
	r.services.Store(&services)
	e := newExpiryLoop()
	defer e.timer.Stop()
	if d := e.wait(r); d != expiryBatch {
		t.Errorf("expiries passed or 1ms away: timer %v, want the batch %v", d, expiryBatch)
	}
	e.floor = expiryRetry
	if d := e.wait(r); d != expiryRetry {
		t.Errorf("after a failed round: timer %v, want %v", d, expiryRetry)
	}
	empty := map[string]*svcSlot{}
	r.services.Store(&empty)
	e.floor = 0
	if d := e.wait(r); d != r.cfg.router.resync {
		t.Errorf("no expiry held: timer %v, want the resync period %v", d, r.cfg.router.resync)
	}
}
