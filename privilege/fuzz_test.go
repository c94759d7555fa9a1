package privilege_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/groundwork-go/groundwork/privilege"
)

// FuzzCompileCondition: any string compiles or is ErrBadCondition; never
// a panic, never another error.
func FuzzCompileCondition(f *testing.F) {
	for _, s := range []string{"", "true", `subject.dept == "eng"`, "subject.level >", `[1,2].all(x, x > 0)`,
		`action in ["a"] ? 1 : 2`, "((((((((((((1))))))))))))", `"\xff"`, "size(subject) > 0", "env.t < timestamp('2020-01-01T00:00:00Z')"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		if err := privilege.CompileCondition(expr); err != nil && !errors.Is(err, privilege.ErrBadCondition) {
			t.Fatalf("CompileCondition(%q) = %v, not ErrBadCondition", expr, err)
		}
	})
}

// FuzzPolicyJSON: a policy document decodes or fails cleanly; a valid one
// survives a JSON round trip unchanged.
func FuzzPolicyJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":"p","priority":3,"effect":"deny","target":{"resources":["orders/*"],"actions":["delete"]},"condition":"subject.level < 3","active":true}`,
		`{"id":"p","effect":"permit"}`,
		`{"id":"p","effect":"maybe"}`,
		`{"id":"","effect":"deny","target":{"subjects":["a/*/b"]}}`,
		`{"effect":7}`, `null`, `[]`, `{"condition":"subject."}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var p privilege.Policy
		if err := json.Unmarshal(doc, &p); err != nil {
			return
		}
		if err := privilege.ValidatePolicy(p, nil); err != nil {
			if !errors.Is(err, privilege.ErrInvalid) && !errors.Is(err, privilege.ErrBadCondition) {
				t.Fatalf("validatePolicy: %v", err)
			}
			return
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal a valid policy: %v", err)
		}
		var q privilege.Policy
		if err := json.Unmarshal(b, &q); err != nil {
			t.Fatalf("read back %s: %v", b, err)
		}
		if !reflect.DeepEqual(normalize(p), normalize(q)) {
			t.Fatalf("round trip: %+v became %+v", p, q)
		}
	})
}

// normalize treats an empty list as a missing one (omitempty).
func normalize(p privilege.Policy) privilege.Policy {
	for _, l := range []*[]string{&p.Target.Subjects, &p.Target.Resources, &p.Target.Actions} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return p
}

func TestEffectJSON(t *testing.T) {
	b, err := json.Marshal(privilege.Policy{ID: "p", Effect: privilege.Deny})
	if err != nil || !json.Valid(b) || !strings.Contains(string(b), `"effect":"deny"`) {
		t.Fatalf("%s, %v", b, err)
	}
	if _, err := json.Marshal(privilege.Effect(0)); !errors.Is(err, privilege.ErrInvalid) {
		t.Fatalf("marshal Effect(0): %v", err)
	}
}
