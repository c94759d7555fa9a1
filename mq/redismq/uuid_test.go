package redismq

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzUUIDV7Millis: the parser of the id field of entries (which anyone
// can write) accepts exactly canonical UUIDv7s and reads their 48-bit
// timestamp.
func FuzzUUIDV7Millis(f *testing.F) {
	for _, s := range []string{
		"0190a1b2-c3d4-7e5f-8a9b-000000000001", "0190A1B2-C3D4-7E5F-BA9B-000000000001",
		"0190a1b2-c3d4-4e5f-8a9b-000000000001", "0190a1b2-c3d4-7e5f-ca9b-000000000001",
		"0190a1b2-c3d4-7e5f-8a9b-00000000000", "0190a1b2xc3d4-7e5f-8a9b-000000000001",
		"g190a1b2-c3d4-7e5f-8a9b-000000000001", "", "mq:{t/0}/1-0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		ms, ok := uuidV7Millis(id)
		var want bool
		var a, b, c, d, e string
		if len(id) == 36 {
			a, b, c, d, e = id[0:8], id[9:13], id[14:18], id[19:23], id[24:]
			want = id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-' &&
				isHex(a+b+c+d+e) && c[0] == '7' && strings.ContainsRune("89abAB", rune(d[0]))
		}
		if ok != want {
			t.Fatalf("uuidV7Millis(%q) ok = %v, want %v", id, ok, want)
		}
		if ok && fmt.Sprintf("%012x", ms) != strings.ToLower(a+b) {
			t.Fatalf("uuidV7Millis(%q) = %x", id, ms)
		}
	})
}

func isHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}
