package privilege_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/privilege"
)

// rbacStore loads casbin's RBAC benchmark shape: roles roles each allowed
// to read one of resources resources, and users users each granted one
// role — roles+users rules (1,100 / 11,000 / 110,000).
func rbacStore(b *testing.B, roles, resources, users int) *privilege.MemoryStore {
	s := privilege.NewMemoryStore()
	for i := range roles {
		id := fmt.Sprintf("group%d", i)
		must(b, s.PutRole(bg, privilege.Role{ID: id, Active: true}))
		must(b, s.PutPermission(bg, id, privilege.Permission{Resource: fmt.Sprintf("data%d", i/(roles/resources)), Action: "read"}))
	}
	for i := range users {
		must(b, s.Grant(bg, fmt.Sprintf("user%d", i), fmt.Sprintf("group%d", i/(users/roles)), time.Time{}))
	}
	return s
}

func BenchmarkCheckUncached(b *testing.B) {
	for _, size := range []struct{ roles, resources, users int }{{100, 10, 1000}, {1000, 100, 10000}, {10000, 1000, 100000}} {
		rules := size.roles + size.users
		s := rbacStore(b, size.roles, size.resources, size.users)
		e := newEngine(b, s, privilege.WithL1(0, 0))
		u := size.users / 2
		res := fmt.Sprintf("data%d", (u/(size.users/size.roles))/(size.roles/size.resources))
		allow, deny := req(fmt.Sprintf("user%d", u), res, "read"), req(fmt.Sprintf("user%d", u), res, "write")
		for _, c := range []struct {
			name string
			r    privilege.Request
			want bool
		}{{"allow", allow, true}, {"deny", deny, false}} {
			b.Run(fmt.Sprintf("rules=%d/%s", rules, c.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if d, err := e.Check(bg, c.r); err != nil || d.Allowed != c.want {
						b.Fatal(d, err)
					}
				}
			})
		}
		_ = s.Close()
	}
}

func BenchmarkCheckL1(b *testing.B) {
	s := rbacStore(b, 100, 10, 1000)
	defer s.Close()
	e := newEngine(b, s)
	r := req("user501", "data5", "read")
	check(b, e, r)
	b.ReportAllocs()
	for b.Loop() {
		if d, err := e.Check(bg, r); err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
	}
}

// BenchmarkCheckL1Tracked is an L1 hit at a tracked (known, fresh)
// version: the path of an engine on a PostgresStore, with no store read.
func BenchmarkCheckL1Tracked(b *testing.B) {
	s := rbacStore(b, 100, 10, 1000)
	defer s.Close()
	e := newEngine(b, silentWatchStore{s}, privilege.WithMaxStaleness(time.Hour))
	r := req("user501", "data5", "read")
	check(b, e, r)
	b.ReportAllocs()
	for b.Loop() {
		if d, err := e.Check(bg, r); err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
	}
}
