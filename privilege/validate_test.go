package privilege_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/groundwork-go/groundwork/privilege"
)

func TestMatchPattern(t *testing.T) {
	for _, c := range []struct {
		pattern, value string
		want           bool
	}{
		{"*", "anything/at/all", true},
		{"orders/*", "orders/1", true},
		{"orders/*", "orders/1/lines/2", true},
		{"orders/*", "orders/", true},
		{"orders/*", "orders", false},
		{"orders/*", "ordersx/1", false},
		{"orders", "orders", true},
		{"orders", "orders/1", false},
		{"ord*", "orders/1", true},
	} {
		if got := privilege.MatchPattern(c.pattern, c.value); got != c.want {
			t.Errorf("match(%q, %q) = %v, want %v", c.pattern, c.value, got, c.want)
		}
	}
}

func TestPatternsOverlap(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"*", "x", true},
		{"orders/*", "orders/7", true},
		{"orders/7", "orders/*", true},
		{"orders/*", "orders/7/*", true},
		{"orders/*", "invoices/*", false},
		{"orders/7", "orders/8", false},
		{"orders/*", "orders", false},
	} {
		if got := privilege.PatternsOverlap(c.a, c.b); got != c.want {
			t.Errorf("overlap(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestCompileConditionPosition(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{"subject.level >", "line 1, column 16"},
		{"subject.level > 3 &&\n  nosuch == 1", "line 2, column 3"},
		{`"a string"`, "not bool"},
		{"1 + 2", "not bool"},
		{strings.Repeat("a", 5000), "bytes"},
	} {
		err := privilege.CompileCondition(c.expr)
		if !errors.Is(err, privilege.ErrBadCondition) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CompileCondition(%.20q) = %v, want ErrBadCondition with %q", c.expr, err, c.want)
		}
	}
	for _, ok := range []string{"", "true", `subject.dept == resource.dept`, `action in ["read", "list"]`,
		`env.hour >= 9 && env.hour < 17`, `subject.admin`, `has(subject.clearance) && subject.clearance > 2`} {
		if err := privilege.CompileCondition(ok); err != nil {
			t.Errorf("CompileCondition(%q) = %v", ok, err)
		}
	}
}

func noChildren(string) []string { return nil }

func TestValidateRole(t *testing.T) {
	stored := map[string][]string{"a": nil, "b": {"a"}, "c": {"b"}}
	parentsOf := func(id string) ([]string, bool) { p, ok := stored[id]; return p, ok }
	for _, c := range []struct {
		role privilege.Role
		want error
	}{
		{privilege.Role{ID: "d", Parents: []string{"c", "a"}}, nil},
		{privilege.Role{ID: "a", Parents: []string{"c"}}, privilege.ErrCycle},
		{privilege.Role{ID: "a", Parents: []string{"a"}}, privilege.ErrCycle},
		{privilege.Role{ID: "d", Parents: []string{"zz"}}, privilege.ErrNotFound},
		{privilege.Role{ID: "d", Parents: []string{"a", "a"}}, privilege.ErrInvalid},
		{privilege.Role{ID: ""}, privilege.ErrInvalid},
	} {
		if err := privilege.ValidateRole(c.role, parentsOf, noChildren); !errors.Is(err, c.want) {
			t.Errorf("validateRole(%+v) = %v, want %v", c.role, err, c.want)
		}
	}
	// A chain deeper than PostgresStore's recursive query would read.
	deep := map[string][]string{"r0": nil}
	for i := 1; i < 9; i++ {
		deep["r"+string(rune('0'+i))] = []string{"r" + string(rune('0'+i-1))}
	}
	deepOf := func(id string) ([]string, bool) { p, ok := deep[id]; return p, ok }
	if err := privilege.ValidateRole(privilege.Role{ID: "x", Parents: []string{"r8"}}, deepOf, noChildren); err != nil {
		t.Errorf("a chain of 10: %v", err)
	}
	deep["r9"] = []string{"r8"}
	if err := privilege.ValidateRole(privilege.Role{ID: "x", Parents: []string{"r9"}}, deepOf, noChildren); !errors.Is(err, privilege.ErrInvalid) {
		t.Errorf("a chain of 11: %v, want ErrInvalid", err)
	}
	// A parent put on top of a chain lengthens it from below: r0 (the top
	// of r9 -> ... -> r0, 10 roles) given a parent makes 11.
	top := map[string][]string{"top": nil}
	for k, v := range deep {
		top[k] = v
	}
	topOf := func(id string) ([]string, bool) { p, ok := top[id]; return p, ok }
	childrenOf := func(id string) []string {
		var out []string
		for k, ps := range deep {
			for _, p := range ps {
				if p == id {
					out = append(out, k)
				}
			}
		}
		return out
	}
	if err := privilege.ValidateRole(privilege.Role{ID: "r0", Parents: []string{"top"}}, topOf, childrenOf); !errors.Is(err, privilege.ErrInvalid) {
		t.Errorf("a parent on top of a chain of 10: %v, want ErrInvalid", err)
	}
	if err := privilege.ValidateRole(privilege.Role{ID: "r1", Parents: []string{"top"}}, topOf, childrenOf); err != nil {
		t.Errorf("a parent on top of a chain of 9: %v", err)
	}
}

func TestValidatePolicyFields(t *testing.T) {
	ok := privilege.Policy{ID: "p", Effect: privilege.Permit, Active: true}
	for name, mut := range map[string]func(*privilege.Policy){
		"no id":        func(p *privilege.Policy) { p.ID = "" },
		"no effect":    func(p *privilege.Policy) { p.Effect = 0 },
		"empty target": func(p *privilege.Policy) { p.Target.Actions = []string{""} },
		"inner star":   func(p *privilege.Policy) { p.Target.Resources = []string{"a/*/b"} },
	} {
		p := ok
		mut(&p)
		if err := privilege.ValidatePolicy(p, nil); !errors.Is(err, privilege.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if err := privilege.ValidatePolicy(ok, nil); err != nil {
		t.Fatal(err)
	}
}
