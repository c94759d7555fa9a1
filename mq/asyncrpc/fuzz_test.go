package asyncrpc

import (
	"errors"
	"testing"

	"github.com/groundwork-go/groundwork/mq"
)

// FuzzDecodeResponse: any message on a response topic decodes into a
// response or ErrBadResponse, never a panic.
func FuzzDecodeResponse(f *testing.F) {
	f.Add("200", `{"Content-Type":["text/plain"]}`, []byte("ok"))
	f.Add("99", "", []byte(nil))
	f.Add("500", `{"a":"not a list"}`, []byte("{}"))
	f.Add("", `null`, []byte("x"))
	f.Fuzz(func(t *testing.T, status, header string, body []byte) {
		m := &mq.Message{Headers: map[string]string{headerStatus: status, headerHTTP: header}, Payload: body}
		r, err := decodeResponse(m)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("%v does not wrap ErrBadResponse", err)
			}
			return
		}
		if r.StatusCode < 100 || r.StatusCode > 999 {
			t.Fatalf("accepted status %d", r.StatusCode)
		}
		// What decodes re-encodes to the same response.
		again, err := r.toMessage("t", "k")
		if err != nil {
			t.Fatal(err)
		}
		r2, err := decodeResponse(again)
		if err != nil || r2.StatusCode != r.StatusCode || string(r2.Body) != string(r.Body) || len(r2.Header) != len(r.Header) {
			t.Fatalf("round trip: %+v, %v; want %+v", r2, err, r)
		}
	})
}

// FuzzHeaders: any header value is accepted or rejected with ErrInvalid,
// and an accepted one is within the documented alphabet and length.
func FuzzHeaders(f *testing.F) {
	for _, s := range []string{"k-1", "", "a b", "orders.responses", "é", "x\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if err := validKey(s); err == nil {
			if len(s) == 0 || len(s) > 128 {
				t.Fatalf("key of length %d accepted", len(s))
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatal(err)
		}
		if err := validTopic(s); err == nil {
			for _, c := range []byte(s) {
				if c <= ' ' || c > '~' {
					t.Fatalf("topic %q accepted", s)
				}
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatal(err)
		}
	})
}
