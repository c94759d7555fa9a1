package logship

import (
	"encoding/json"
	"log/slog"
	"math"
	"strings"
	"testing"
)

// jsonNormal is s as encoding/json would give it back (invalid UTF-8
// replaced byte by byte).
func jsonNormal(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

// FuzzECSEncode: any record encodes to one valid JSON document that
// decodes to the same message and attributes.
func FuzzECSEncode(f *testing.F) {
	f.Add("hello", "key", "value", "grp", int64(3), 1.5, false)
	f.Add("quote\" back\\ nl\n tab\t \x00 \u2028", "message", "\xff\xfe bad utf8", "", int64(-1), math.Copysign(0, -1), true)
	f.Add("é€𝄞", "log.level", "", "error", int64(1<<62), 1e300, true)
	f.Add("m", "k1", "v", "", int64(0), 0.0, false)       // k1, k1 -> k1_2, then the caller's own k1_2
	f.Add("m", "\xff", "v", "\xfe", int64(0), 0.0, false) // keys that differ in invalid bytes only
	f.Add("m", "g", "v", "g", int64(0), 0.0, true)        // a group named as a key of its level
	f.Fuzz(func(t *testing.T, msg, key, val, grp string, n int64, fl float64, redact bool) {
		s, sink := frontShipper(t)
		var rules []Rule
		if redact {
			rules = DefaultRules()
		}
		l := slog.New(s.Handler(&HandlerOptions{Service: "svc", Redact: rules}))
		if grp != "" {
			l = l.With(key, val).WithGroup(grp)
		}
		l.Info(msg, "k1", val, "k2", n, "k3", fl, key, val, slog.Group("g", key, val, key, val), "k1_2", val)
		r, doc := frontLast(t, sink)
		if d := reviewDupKey(r.JSON); d != "" { // Elasticsearch refuses the document
			t.Fatalf("duplicate key %q: %s", d, r.JSON)
		}
		if redact {
			return // values may be redacted: validity is checked by frontDoc
		}
		if doc["message"] != jsonNormal(msg) {
			t.Fatalf("message %q, want %q", doc["message"], jsonNormal(msg))
		}
		at := doc
		if grp != "" {
			name := jsonNormal(grp)
			if isReserved(grp) {
				name = "labels." + name
			}
			if jsonNormal(grp) == jsonNormal(key) { // renamed: the With attribute came first
				name += "_2"
			}
			at, _ = doc[name].(map[string]any)
		}
		if at == nil {
			t.Fatalf("group %q missing: %s", grp, r.JSON)
		}
		if at["k1"] != jsonNormal(val) || at["k2"] != float64(n) {
			t.Fatalf("attrs %v: %s", at, r.JSON)
		}
		g, _ := at["g"].(map[string]any)
		if g == nil { // renamed: the level already had a "g"
			g, _ = at["g_2"].(map[string]any)
		}
		if g[jsonNormal(key)] != jsonNormal(val) {
			t.Fatalf("group g %v: %s", at["g"], r.JSON)
		}
	})
}

func luhnComplete(digits []byte) []byte {
	sum := 0
	for k := 0; k < len(digits); k++ {
		x := int(digits[len(digits)-1-k] - '0')
		if k%2 == 0 { // doubled once the check digit is appended
			x *= 2
			if x > 9 {
				x -= 9
			}
		}
		sum += x
	}
	return append(digits, byte('0'+(10-sum%10)%10))
}

// FuzzRedact: redaction never panics, always gives a valid JSON string,
// never lets through a secret it is built to catch, and never changes a
// string none of its rules matches.
func FuzzRedact(f *testing.F) {
	f.Add("before", "after", "jane.doe", "example.org", uint64(4111111111111), uint8(16), uint8(0), "random text 1234")
	f.Add("", "", "a", "b.c", uint64(0), uint8(13), uint8(3), "x@y Bearer eyJ..")
	f.Fuzz(func(t *testing.T, pre, post, local, domain string, seed uint64, n, sep uint8, random string) {
		rd, _ := compileRules(append(DefaultRules(), IPRule()))
		// Any string: valid JSON; unchanged when nothing matches.
		out := rd.appendString(nil, "k", random, false)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON for %q: %s", random, out)
		}
		if !rd.matches("k", random) && string(out) != string(appendJSONString(nil, random)) {
			t.Fatalf("changed without a match: %q -> %s", random, out)
		}
		clean := func(s string) string { // keep the context from gluing onto the secret
			return strings.Map(func(r rune) rune {
				if r < 0x80 && (isTokenByte(byte(r)) || r == '@' || r == ':') {
					return ' '
				}
				return r
			}, s)
		}
		pre, post = clean(pre)+" | ", " | "+clean(post)
		var secrets []string
		// An e-mail address.
		loc := strings.Map(func(r rune) rune {
			if r < 0x80 && isEmailLocal(byte(r)) {
				return r
			}
			return -1
		}, local)
		dom := strings.Map(func(r rune) rune {
			if r < 0x80 && ('a' <= r && r <= 'z' || '0' <= r && r <= '9') {
				return r
			}
			return -1
		}, domain)
		if loc != "" && dom != "" {
			secrets = append(secrets, loc+"@"+dom+".example")
		}
		// A Luhn-valid card number, grouped by sep.
		length := 13 + int(n%7)
		digits := []byte{byte('2' + seed%5)}
		for x := seed; len(digits) < length-1; x = x*6364136223846793005 + 1442695040888963407 {
			digits = append(digits, byte('0'+(x>>33)%10))
		}
		digits = luhnComplete(digits)
		card := string(digits)
		if sep%3 != 0 {
			sc := " -"[sep%2]
			var b []byte
			for i, d := range digits {
				if i > 0 && i%4 == 0 {
					b = append(b, sc)
				}
				b = append(b, d)
			}
			card = string(b)
		}
		secrets = append(secrets, card)
		// A JWT.
		b64 := strings.Map(func(r rune) rune {
			if r < 0x80 && isB64URL(byte(r)) {
				return r
			}
			return -1
		}, random)
		secrets = append(secrets, "eyJ"+b64+".eyJ"+b64+"."+b64)
		for _, secret := range secrets {
			in := pre + secret + post
			out := rd.appendString(nil, "k", in, false)
			var got string
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%q: %v", in, err)
			}
			if strings.Contains(got, secret) {
				t.Fatalf("secret %q kept in %q", secret, got)
			}
		}
	})
}
