package privilege_test

import (
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/privilege"
)

// TestStoreIDSeparatesL2: engines on two databases at equal versions,
// sharing one Redis and prefix, keep apart: a permit one computed (and
// put in L2) is not served by the other, whose store denies it.
func TestStoreIDSeparatesL2(t *testing.T) {
	url := pgCluster(t)
	rd := testserver.StartRedis(t, nil)
	rdb := newRedisClient(t, rd.Addr)
	a, poolA := newPGStore(t, url)
	b, _ := newPGStore(t, url)
	// Three writes each: equal versions, different rules.
	for _, s := range []*privilege.PostgresStore{a, b} {
		must(t, s.PutRole(bg, privilege.Role{ID: "dev", Active: true}))
	}
	must(t, a.PutPermission(bg, "dev", privilege.Permission{Resource: "code/*", Action: "push"}))
	must(t, b.PutPermission(bg, "dev", privilege.Permission{Resource: "wiki/*", Action: "read"}))
	for _, s := range []*privilege.PostgresStore{a, b} {
		must(t, s.Grant(bg, "ann", "dev", time.Time{}))
	}
	if va, vb := version(t, a), version(t, b); va != vb {
		t.Fatalf("versions %d and %d, want equal", va, vb)
	}
	ea := newEngine(t, a, privilege.WithRedis(rdb))
	eb := newEngine(t, b, privilege.WithRedis(rdb))
	r := req("ann", "code/x", "push")
	if d := check(t, ea, r); !d.Allowed {
		t.Fatalf("store A: %+v", d)
	}
	if n := rdb.Exists(bg, privilege.EngineL2Key(ea, version(t, a), "ann", "code/x", "push")).Val(); n != 1 {
		t.Fatal("store A's permit is not in L2")
	}
	if d := check(t, eb, r); d.Allowed {
		t.Fatalf("store B served store A's permit: %+v", d)
	}
	if privilege.L2Channel(ea) == privilege.L2Channel(eb) {
		t.Fatalf("one channel for two stores: %s", privilege.L2Channel(ea))
	}

	// The id is the database's: another handle on it has the same.
	a2, err := privilege.NewPostgresStore(bg, poolA)
	mustNil(t, err)
	defer a2.Close()
	idA, _ := a.StoreID(bg)
	idA2, _ := a2.StoreID(bg)
	idB, _ := b.StoreID(bg)
	if idA == "" || idA != idA2 || idA == idB {
		t.Fatalf("ids: A %q, A again %q, B %q", idA, idA2, idB)
	}
}

// TestStoreIDMemory: each MemoryStore has an id of its own, so two
// sharing a Redis and prefix keep apart too.
func TestStoreIDMemory(t *testing.T) {
	rd := testserver.StartRedis(t, nil)
	rdb := newRedisClient(t, rd.Addr)
	a, b := privilege.NewMemoryStore(), privilege.NewMemoryStore()
	defer a.Close()
	defer b.Close()
	seed(t, a)
	seed(t, b)
	must(t, a.Grant(bg, "ann", "developer", time.Time{}))
	must(t, b.Grant(bg, "bob", "developer", time.Time{}))
	ea := newEngine(t, a, privilege.WithRedis(rdb))
	eb := newEngine(t, b, privilege.WithRedis(rdb))
	r := req("ann", "code/x", "push")
	if d := check(t, ea, r); !d.Allowed {
		t.Fatalf("store A: %+v", d)
	}
	if d := check(t, eb, r); d.Allowed {
		t.Fatalf("store B served store A's permit: %+v", d)
	}
}
