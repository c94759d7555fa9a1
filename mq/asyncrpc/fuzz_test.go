package asyncrpc

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

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

// FuzzRetryAfter: any Retry-After header reads as a wait within
// [0, maxRetryAfter], never a panic or an overflow; delay seconds read
// exactly.
func FuzzRetryAfter(f *testing.F) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, s := range []string{"0", "7", " 120 ", "-1", "1.5", "99999999999999999999", "18446744073709551615",
		now.Add(time.Minute).Format(http.TimeFormat), "Mon, 02 Jan 2006 15:04:05 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d := parseRetryAfter(v, now)
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %v", v, d)
		}
		if secs, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil && secs < 86400 && d != time.Duration(secs)*time.Second {
			t.Fatalf("parseRetryAfter(%q) = %v, want %ds", v, d, secs)
		}
	})
}

// FuzzDecodeStored: anything read back from an idempotency store decodes
// into a response or ErrBadResponse, never a panic; what encodes decodes
// to the same response.
func FuzzDecodeStored(f *testing.F) {
	good, _ := encodeStored(&Response{StatusCode: 201, Header: http.Header{"A": {"b"}}, Body: []byte("ok")})
	for _, s := range [][]byte{good, []byte(`{"s":99}`), []byte(`{"s":200,"b":"!!"}`), []byte(`{"s":200,"h":{"a":1}}`), nil, []byte("done")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeStored(b)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("%v does not wrap ErrBadResponse", err)
			}
			return
		}
		if r.StatusCode < 100 || r.StatusCode > 999 {
			t.Fatalf("accepted status %d", r.StatusCode)
		}
		again, err := encodeStored(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := decodeStored(again)
		if err != nil || r2.StatusCode != r.StatusCode || string(r2.Body) != string(r.Body) || len(r2.Header) != len(r.Header) {
			t.Fatalf("round trip: %+v, %v; want %+v", r2, err, r)
		}
	})
}
