package privilege_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/privilege"
	"github.com/groundwork-go/groundwork/privilege/privilegetest"
)

func TestMemoryStore(t *testing.T) {
	privilegetest.RunStoreTests(t, func(t *testing.T) privilege.Store { return privilege.NewMemoryStore() })
}

// TestMemoryStoreExpiryExact: an expiry is kept to the nanosecond, far
// ahead and before 1970 too.
func TestMemoryStoreExpiryExact(t *testing.T) {
	ctx := context.Background()
	s := privilege.NewMemoryStore()
	must(t, s.PutRole(ctx, privilege.Role{ID: "r", Active: true}))
	for _, exp := range []time.Time{
		time.Date(2030, 1, 1, 0, 0, 0, 123456789, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 500, time.UTC),
	} {
		must(t, s.Grant(ctx, "ann", "r", exp))
		for _, c := range []struct {
			at   time.Time
			live bool
		}{{exp.Add(-time.Nanosecond), true}, {exp, false}, {exp.Add(time.Nanosecond), false}} {
			eff, err := s.EffectiveRoles(ctx, "ann", c.at)
			must(t, err)
			if live := len(eff) == 1; live != c.live {
				t.Errorf("grant until %v, at %v: effective %v, want %v", exp, c.at, live, c.live)
			}
			if len(eff) == 1 && !eff[0].Expires.Equal(exp) {
				t.Errorf("Expires = %v, want %v", eff[0].Expires, exp)
			}
		}
		g, err := s.Grants(ctx, "ann")
		must(t, err)
		if len(g) != 1 || !g[0].Expires.Equal(exp) {
			t.Errorf("Grants = %+v, want one until %v", g, exp)
		}
	}
}

// TestMemoryStoreGrantFootprint: a user with one grant costs the store a
// few dozen bytes beside its ID (it was ~400: a map per user).
func TestMemoryStoreGrantFootprint(t *testing.T) {
	const users = 50_000
	ctx := context.Background()
	ids := make([]string, users) // the IDs are the caller's, outside the measure
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%d", i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := privilege.NewMemoryStore()
	must(t, s.PutRole(ctx, privilege.Role{ID: "r", Active: true}))
	for _, id := range ids {
		must(t, s.Grant(ctx, id, "r", time.Time{}))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(s)
	perUser := float64(after.HeapAlloc-before.HeapAlloc) / users
	t.Logf("%.0f bytes per user with one grant", perUser)
	if perUser > 100 {
		t.Fatalf("%.0f bytes per user with one grant, want ≤ 100", perUser)
	}
}

func TestMemoryStoreAllowConflicts(t *testing.T) {
	privilegetest.RunAllowConflictsTests(t, func(t *testing.T) privilege.Store {
		return privilege.NewMemoryStore(privilege.AllowConflicts())
	})
	// A nil option is ignored: the store refuses conflicts as by default.
	privilegetest.RunStoreTests(t, func(t *testing.T) privilege.Store { return privilege.NewMemoryStore(nil) })
}

// TestMemoryStorePutRoleCostFlat: a PutRole costs what it touches (the
// role's ancestors and descendants), not the number of roles stored, so
// loading N roles is linear in N. Counted in allocations: it was a map of
// every role's children built on each PutRole with parents.
func TestMemoryStorePutRoleCostFlat(t *testing.T) {
	ctx := context.Background()
	allocs := func(n int) float64 {
		s := privilege.NewMemoryStore()
		for i := range n {
			var parents []string
			if i > 0 {
				parents = []string{fmt.Sprintf("r%d", (i-1)/10)} // a tree
			}
			must(t, s.PutRole(ctx, privilege.Role{ID: fmt.Sprintf("r%d", i), Parents: parents, Active: true}))
		}
		child := privilege.Role{ID: "x", Parents: []string{fmt.Sprintf("r%d", n-1)}, Active: true}
		return testing.AllocsPerRun(20, func() { must(t, s.PutRole(ctx, child)) })
	}
	small, large := allocs(100), allocs(10_000)
	t.Logf("allocations per PutRole: %v with 100 roles, %v with 10,000", small, large)
	if large > small+2 {
		t.Fatalf("a PutRole among 10,000 roles allocates %v times, among 100 %v: its cost grows with the roles stored", large, small)
	}
}
