package greyroute

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
)

// FuzzAdminBody feeds the admin API's body decoder anything, into every
// body type: it never panics, and refuses with a 400 or 413 and a message.
func FuzzAdminBody(f *testing.F) {
	for _, s := range []string{
		`{"version":"v1"}`, `{"to":"v2","percent":12.5}`, `{"score":40}`, `{"min_schema":3}`, `{"version":7}`,
		`{}`, `{} {}`, `{"version":"v1","x":1}`, `[`, `"str"`, `{"percent":1e400}`, `{"score":1.5}`,
		"{\"version\":\"\xff\"}", ``, `null`, `{"version":null}`, `{"Version":"v"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range []any{&versionIn{}, &rolloutIn{}, &healthIn{}, &requireIn{}, &schemaIn{}} {
			r := http.MaxBytesReader(nil, io.NopCloser(bytes.NewReader(body)), maxBody)
			err := decodeJSON(r, v)
			if err == nil {
				continue
			}
			var se *statusError
			if !errors.As(err, &se) || (se.status != http.StatusBadRequest && se.status != http.StatusRequestEntityTooLarge) || se.msg == "" {
				t.Fatalf("%T: refusal %#v", v, err)
			}
		}
	})
}
