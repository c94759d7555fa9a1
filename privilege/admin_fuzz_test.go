package privilege

import (
	"net/http"
	"testing"
)

// FuzzAdminBody feeds the admin API's body decoder anything: it never
// panics, answers every refusal with a 4xx and a message, and what it
// accepts has no NUL in a string.
func FuzzAdminBody(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"name":"x","parents":["a","b"],"active":true}`, `{"effect":"permit","target":{"resources":["a/*"]},"condition":"true"}`,
		`{"expires":"2030-01-01T00:00:00Z"}`, `{"subject":"u","subject_attrs":{"a":[1,{"b":null}]},"resource":"r","action":"a"}`,
		`{} {}`, `{"a\u0000":1}`, `{"name":"\u0000"}`, `[`, `"str"`, `{"priority":1e400}`, "{\"name\":\"\xff\"}", ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range []any{&roleIn{}, &policyIn{}, &grantIn{}, &checkIn{}, &permissionJSON{}} {
			err := decodeJSON(body, v)
			if err != nil {
				if err.status != http.StatusBadRequest || err.Error == "" {
					t.Fatalf("refusal %+v", err)
				}
				continue
			}
			var generic any
			if decodeJSON(body, &generic) != nil || holdsNUL(generic) {
				t.Fatalf("accepted %q for %T, but not as a generic value or with a NUL", body, v)
			}
		}
	})
}
