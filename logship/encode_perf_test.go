package logship

import (
	"strings"
	"testing"
	"time"
)

// TestAppendTimestampCached: the cached second and the digit pairs give what
// time.Format gives, across seconds, days, years, before 1970, and when
// records alternate between two seconds (the cache is replaced, never
// wrongly reused).
func TestAppendTimestampCached(t *testing.T) {
	const layout = "2006-01-02T15:04:05.000000000Z"
	base := []time.Time{
		time.Date(2026, 11, 30, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 5, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 123_456_789, time.UTC),
		time.Date(2026, 6, 1, 12, 0, 0, 42, time.FixedZone("X", -7*3600)),
	}
	for round := 0; round < 2; round++ {
		for _, tm := range base {
			for _, d := range []time.Duration{0, time.Nanosecond, time.Second, -time.Second} {
				x := tm.Add(d)
				if got, want := string(appendTimestamp(nil, x)), x.UTC().Format(layout); got != want {
					t.Errorf("appendTimestamp(%v) = %s, want %s", x, got, want)
				}
			}
		}
	}
	// Outside 4-digit years: RFC 3339 as time formats it, not garbage.
	x := time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := string(appendTimestamp(nil, x)); got != x.Format(time.RFC3339Nano) {
		t.Errorf("year 12345: %s", got)
	}
}

// TestIsReserved: the first-byte switch agrees with reservedRoots.
func TestIsReserved(t *testing.T) {
	for _, r := range reservedRoots {
		for _, k := range []string{r, r + ".x", strings.ToUpper(r[:1]) + r[1:] + ".x"} {
			want := k[0] == r[0]
			if got := isReserved(k); got != want {
				t.Errorf("isReserved(%q) = %v, want %v", k, got, want)
			}
		}
		for _, k := range []string{r + "x", r[:len(r)-1], "x" + r, r + "_id"} {
			if isReserved(k) {
				t.Errorf("isReserved(%q) = true, want false", k)
			}
		}
	}
	if isReserved("") || isReserved("path") || isReserved("status") {
		t.Error("isReserved of a plain key is true")
	}
}

func TestAppendDigits(t *testing.T) {
	for _, c := range []struct {
		v, width int
		want     string
	}{{0, 2, "00"}, {7, 2, "07"}, {2026, 4, "2026"}, {5, 9, "000000005"}, {999_999_999, 9, "999999999"}, {123_456_789, 9, "123456789"}, {1, 1, "1"}, {42, 3, "042"}} {
		if got := string(appendDigits(nil, c.v, c.width)); got != c.want {
			t.Errorf("appendDigits(%d, %d) = %s, want %s", c.v, c.width, got, c.want)
		}
	}
}
