package cache

import (
	"bytes"
	"testing"
	"time"
)

// FuzzDecode: whatever sits under a key in Redis, decode returns an entry
// or an error, never panics, and what encode wrote decodes to itself.
func FuzzDecode(f *testing.F) {
	c := &Cache[[]byte]{o: options{codec: JSON{}}}
	good, _ := c.encode(&entry[[]byte]{v: []byte("payload"), delta: 3 * time.Millisecond,
		tags: []tagVersion{{"t1", "0123456789abcdef"}, {"", "fedcba9876543210"}}})
	neg, _ := c.encode(&entry[[]byte]{negative: true})
	f.Add(good)
	f.Add(neg)
	f.Add([]byte("v\x00\x00"))
	f.Add([]byte("v\x00\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := c.decode(raw)
		if err != nil {
			return
		}
		again, err := c.encode(e)
		if err != nil {
			t.Fatal(err)
		}
		e2, err := c.decode(again)
		if err != nil || !bytes.Equal(e2.v, e.v) || e2.negative != e.negative || e2.delta != e.delta || len(e2.tags) != len(e.tags) {
			t.Fatalf("%q: re-encoded as %q decodes to %+v %v", raw, again, e2, err)
		}
	})
}

func TestDecodeStructured(t *testing.T) {
	c := &Cache[map[string]int]{o: options{codec: JSON{}}}
	raw, err := c.encode(&entry[map[string]int]{v: map[string]int{"a": 1}, tags: []tagVersion{{"x", "0123456789abcdef"}}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := c.decode(raw)
	if err != nil || e.v["a"] != 1 || e.tags[0] != (tagVersion{"x", "0123456789abcdef"}) {
		t.Fatalf("%+v %v", e, err)
	}
	for _, bad := range []string{"", "x", "v", "v\x00", "v\x00\x05t", "n\x00\x00junk", "v\x00\x01\x02ab0123"} {
		if _, err := c.decode([]byte(bad)); err == nil {
			t.Errorf("decode(%q) accepted", bad)
		}
	}
}

// FuzzParseMessage: anyone may publish on the invalidation channel.
func FuzzParseMessage(f *testing.F) {
	c := &Cache[int]{id: "0011223344556677"}
	f.Add(c.message(42, msgKey, "user:1"))
	f.Add(c.message(7, msgTag, "0123456789abcdef"+"tag"))
	f.Add("\x00\x00")
	f.Fuzz(func(t *testing.T, s string) {
		m, ok := parseMessage(s)
		if !ok {
			return
		}
		if m.kind == msgTag && len(m.name) <= tagVersionLen {
			t.Fatalf("%q: tag message without a tag", s)
		}
		if again, ok := parseMessage((&Cache[int]{id: m.from}).message(m.write, m.kind, m.name)); !ok || again != m {
			t.Fatalf("%q: round trip %+v %v", s, again, ok)
		}
	})
}
