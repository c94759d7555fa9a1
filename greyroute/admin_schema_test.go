package greyroute_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/greyroute"
)

// TestPinSchemaGating: Pin is refused with ErrSchema while the tenant's
// recorded schema is below the version's requirement, and nothing is
// written; a tenant with no schema recorded counts as 0.
func TestPinSchemaGating(t *testing.T) {
	noLeaks(t)
	c := newRedis(t)
	a := newAdmin(t, c, nil)
	ctx := context.Background()
	must(t, a.RequireSchema(ctx, "orders", "v2", 3))
	err := a.Pin(ctx, "acme", "orders", "v2")
	if !errors.Is(err, greyroute.ErrSchema) || !strings.Contains(err.Error(), "schema is 0, the version requires 3") {
		t.Fatalf("Pin with no schema recorded: %v", err)
	}
	must(t, a.SetSchema(ctx, "acme", 2))
	if err := a.Pin(ctx, "acme", "orders", "v2"); !errors.Is(err, greyroute.ErrSchema) {
		t.Fatalf("Pin with schema 2 < 3: %v", err)
	}
	if tab, _ := a.Snapshot(ctx, "orders"); len(tab.Pins) != 0 || tab.Rev != 1 {
		t.Fatalf("refused pins wrote: %+v", tab)
	}
	must(t, a.SetSchema(ctx, "acme", 3))
	must(t, a.Pin(ctx, "acme", "orders", "v2"))
	must(t, a.Pin(ctx, "acme", "orders", "v1")) // no requirement
	must(t, a.RequireSchema(ctx, "orders", "v2", 0))
	must(t, a.Pin(ctx, "initech", "orders", "v2")) // requirement removed
	if tab, _ := a.Snapshot(ctx, "orders"); tab.Pins["acme"] != "v1" || tab.Pins["initech"] != "v2" || len(tab.SchemaReq) != 0 {
		t.Fatalf("table: %+v", tab)
	}
}

// TestMoveTenant: the Migrator runs only when the schema is too old; a
// failing (or panicking) one leaves the schema record and the pin as
// they were; a succeeding one has its schema recorded, then the pin
// written.
func TestMoveTenant(t *testing.T) {
	for _, tc := range topologies {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t) // first, so that it runs after the client's Close
			testMoveTenant(t, tc.client(t))
		})
	}
}

func testMoveTenant(t *testing.T, c redis.UniversalClient) {
	a := newAdmin(t, c, nil)
	ctx := context.Background()
	must(t, a.SetSchema(ctx, "acme", 1))
	must(t, a.Pin(ctx, "acme", "orders", "v1"))
	must(t, a.RequireSchema(ctx, "orders", "v2", 3))
	before, _ := a.Snapshot(ctx, "orders")

	state := func() (int, string) {
		t.Helper()
		s, err := a.TenantSchemas(ctx, "acme")
		must(t, err)
		tab, err := a.Snapshot(ctx, "orders")
		must(t, err)
		return s["acme"], tab.Pins["acme"]
	}

	boom := errors.New("migration 2 failed")
	calls := 0
	err := a.MoveTenant(ctx, "acme", "orders", "v2", func(context.Context) (int, error) { calls++; return 0, boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("failing migration: %v (%d calls)", err, calls)
	}
	if s, pin := state(); s != 1 || pin != "v1" {
		t.Fatalf("after a failed migration: schema %d, pin %q: want 1, v1", s, pin)
	}
	err = a.MoveTenant(ctx, "acme", "orders", "v2", func(context.Context) (int, error) { panic("bad migration") })
	if err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("panicking migration: %v", err)
	}
	if s, pin := state(); s != 1 || pin != "v1" {
		t.Fatalf("after a panicking migration: schema %d, pin %q", s, pin)
	}
	if tab, _ := a.Snapshot(ctx, "orders"); tab.Rev != before.Rev {
		t.Fatalf("failed migrations changed the table: rev %d → %d", before.Rev, tab.Rev)
	}

	// Migrations that stop short: recorded (they ran), pin refused.
	err = a.MoveTenant(ctx, "acme", "orders", "v2", func(context.Context) (int, error) { return 2, nil })
	if !errors.Is(err, greyroute.ErrSchema) {
		t.Fatalf("migration to 2 of 3: %v, want ErrSchema", err)
	}
	if s, pin := state(); s != 2 || pin != "v1" {
		t.Fatalf("after a short migration: schema %d, pin %q: want 2, v1", s, pin)
	}

	calls = 0
	must(t, a.MoveTenant(ctx, "acme", "orders", "v2", func(context.Context) (int, error) { calls++; return 3, nil }))
	if s, pin := state(); s != 3 || pin != "v2" || calls != 1 {
		t.Fatalf("after a migration: schema %d, pin %q, %d calls: want 3, v2, 1", s, pin, calls)
	}
	// Already migrated: the Migrator is not called again.
	must(t, a.Pin(ctx, "acme", "orders", "v1"))
	must(t, a.MoveTenant(ctx, "acme", "orders", "v2", func(context.Context) (int, error) { calls++; return 9, nil }))
	if s, pin := state(); s != 3 || pin != "v2" || calls != 1 {
		t.Fatalf("moving a migrated tenant: schema %d, pin %q, %d calls: want 3, v2, 1", s, pin, calls)
	}
	// A Migrator that lowers the schema is refused before any write.
	must(t, a.RequireSchema(ctx, "orders", "v4", 5))
	err = a.MoveTenant(ctx, "acme", "orders", "v4", func(context.Context) (int, error) { return 1, nil })
	if !errors.Is(err, greyroute.ErrInvalid) {
		t.Fatalf("Migrator returning a lower schema: %v", err)
	}
	if s, _ := state(); s != 3 {
		t.Fatalf("schema %d after a Migrator returned a lower one", s)
	}
	if err := a.MoveTenant(ctx, "acme", "orders", "v2", nil); !errors.Is(err, greyroute.ErrInvalid) {
		t.Fatalf("nil Migrator: %v", err)
	}
}
