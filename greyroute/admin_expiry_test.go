package greyroute_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// TestExpiryByTheCallersClock: an instance lives until the expiry stamped
// from the Admin's clock (passed to the script, never Redis's TIME), so
// moving the clock expires it without sleeping. An expired instance is
// gone for Snapshot, Heartbeat and SetHealth, is swept from Redis by the
// next script touching the instances, and comes back only by Register.
func TestExpiryByTheCallersClock(t *testing.T) {
	noLeaks(t)
	r := testserver.StartRedis(t, nil)
	c := standalone(t, r.Addr, nil)
	clk := newClock()
	a := newAdmin(t, c, clk)
	ctx := context.Background()

	for _, id := range []string{"i3", "i1", "i2"} {
		must(t, a.Register(ctx, inst(id, "v1"), 10*time.Second))
	}
	must(t, a.SetHealth(ctx, "orders", "i1", 70))
	clk.Advance(5 * time.Second)
	must(t, a.Heartbeat(ctx, "orders", "i2", 10*time.Second)) // i2 now lives to 15s

	clk.Advance(5*time.Second - time.Millisecond)
	tab, err := a.Snapshot(ctx, "orders")
	must(t, err)
	if len(tab.Instances) != 3 {
		t.Fatalf("1ms before the expiry: %d instances, want 3", len(tab.Instances))
	}

	clk.Advance(time.Millisecond) // i1 and i3 reach their expiry
	tab, err = a.Snapshot(ctx, "orders")
	must(t, err)
	if len(tab.Instances) != 1 || tab.Instances[0].ID != "i2" || len(tab.Health) != 0 || len(tab.Expires) != 1 {
		t.Fatalf("at the expiry: instances %+v, health %v, expires %v: want i2 alone", tab.Instances, tab.Health, tab.Expires)
	}
	if err := a.Heartbeat(ctx, "orders", "i1", 10*time.Second); !errors.Is(err, greyroute.ErrNotFound) {
		t.Fatalf("Heartbeat of an expired instance: %v, want ErrNotFound", err)
	}
	if err := a.SetHealth(ctx, "orders", "i3", 80); !errors.Is(err, greyroute.ErrNotFound) {
		t.Fatalf("SetHealth of an expired instance: %v, want ErrNotFound", err)
	}
	if err := a.Heartbeat(ctx, "orders", "never", 10*time.Second); !errors.Is(err, greyroute.ErrNotFound) {
		t.Fatalf("Heartbeat of an unknown instance: %v, want ErrNotFound", err)
	}
	// The Heartbeat's script swept the expired entries from Redis.
	if n, _ := c.HLen(ctx, "greyroute:{orders}:instances").Result(); n != 1 {
		t.Errorf("instances hash has %d fields after the sweep, want 1", n)
	}
	if n, _ := c.HLen(ctx, "greyroute:{orders}:health").Result(); n != 0 {
		t.Errorf("health hash has %d fields after the sweep, want 0", n)
	}
	if n, _ := c.ZCard(ctx, "greyroute:{orders}:expiry").Result(); n != 1 {
		t.Errorf("expiry set has %d members after the sweep, want 1", n)
	}
	must(t, a.Register(ctx, inst("i1", "v1"), 10*time.Second))
	tab, _ = a.Snapshot(ctx, "orders")
	if len(tab.Instances) != 2 || tab.Instances[0].ID != "i1" {
		t.Fatalf("after registering i1 again: %+v", tab.Instances)
	}
	if _, ok := tab.Health["i1"]; ok {
		t.Errorf("i1's old health score survived its expiry")
	}
}

// TestCorruptEntry: an instance entry not written by an Admin is left out
// of the table and named in Table.Corrupt, not a failed Snapshot.
func TestCorruptEntry(t *testing.T) {
	noLeaks(t)
	c := newRedis(t)
	clk := newClock()
	a := newAdmin(t, c, clk)
	ctx := context.Background()
	must(t, a.Register(ctx, inst("i1", "v1"), time.Minute))
	c.HSet(ctx, "greyroute:{orders}:instances", "bad", "{not json")
	c.ZAdd(ctx, "greyroute:{orders}:expiry", redis.Z{Score: float64(clk.Now().Add(time.Minute).UnixMilli()), Member: "bad"})
	tab, err := a.Snapshot(ctx, "orders")
	must(t, err)
	if len(tab.Instances) != 1 || len(tab.Corrupt) != 1 || tab.Corrupt[0] != "bad" {
		t.Fatalf("instances %+v, corrupt %v", tab.Instances, tab.Corrupt)
	}
	if _, ok := tab.Expires["bad"]; ok {
		t.Fatalf("a corrupt entry has an expiry in the table")
	}
}
