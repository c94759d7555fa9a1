package greyroute_test

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/groundwork-go/groundwork/greyroute"
)

// TestSchemaRange: schema versions round-trip exactly up to MaxSchema
// (timestamp-style versions such as 20240101120000 included), and a larger
// one is refused before any write. Scripts hold numbers as Lua doubles:
// a requirement of 1e17 used to be stored as "1e+17" — which Snapshot
// could not read, so a Router would have routed ungated — and one of
// 2^53+1 silently as 2^53.
func TestSchemaRange(t *testing.T) {
	if strconv.IntSize < 64 {
		t.Skip("schema versions above 2^31 need a 64-bit int")
	}
	noLeaks(t)
	c := newRedis(t)
	a := newAdmin(t, c, nil)
	ctx := context.Background()
	for _, n64 := range []int64{20240101120000, greyroute.MaxSchema} {
		n := int(n64)
		must(t, a.RequireSchema(ctx, "orders", "v2", n))
		must(t, a.SetSchema(ctx, "acme", n))
		tab, err := a.Snapshot(ctx, "orders")
		must(t, err)
		s, err := a.TenantSchemas(ctx, "acme")
		must(t, err)
		if tab.SchemaReq["v2"] != n || s["acme"] != n {
			t.Fatalf("schema %d read back as requirement %d, tenant %d", n, tab.SchemaReq["v2"], s["acme"])
		}
		must(t, a.Pin(ctx, "acme", "orders", "v2"))
	}
	before, _ := a.Snapshot(ctx, "orders")
	for _, n64 := range []int64{greyroute.MaxSchema + 1, 1e17} {
		n := int(n64)
		if err := a.RequireSchema(ctx, "orders", "v3", n); !errors.Is(err, greyroute.ErrInvalid) {
			t.Errorf("RequireSchema(%d): %v, want ErrInvalid", n, err)
		}
		if err := a.SetSchema(ctx, "acme", n); !errors.Is(err, greyroute.ErrInvalid) {
			t.Errorf("SetSchema(%d): %v, want ErrInvalid", n, err)
		}
	}
	if tab, _ := a.Snapshot(ctx, "orders"); tab.Rev != before.Rev || len(tab.SchemaReq) != 1 {
		t.Errorf("refused requirements wrote: %+v", tab.SchemaReq)
	}
}
