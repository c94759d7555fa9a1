package mq

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewIDs(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_123)
	seen := map[string]bool{}
	for range 10 {
		msgs := make([]*Message, 1000)
		for i := range msgs {
			msgs[i] = &Message{}
		}
		msgs[3] = &Message{ID: "mine"}
		msgs[4] = nil
		if err := newIDs(msgs, now); err != nil {
			t.Fatal(err)
		}
		if msgs[3].ID != "mine" {
			t.Fatalf("an ID the caller set was replaced by %q", msgs[3].ID)
		}
		var ids []string
		for i, m := range msgs {
			if i == 3 || i == 4 {
				continue
			}
			if !uuidV7.MatchString(m.ID) {
				t.Fatalf("ID %q is not a canonical UUIDv7", m.ID)
			}
			ms, err := strconv.ParseInt(strings.ReplaceAll(m.ID[:13], "-", ""), 16, 64)
			if err != nil || ms != now.UnixMilli() {
				t.Fatalf("ID %q carries time %d, want %d", m.ID, ms, now.UnixMilli())
			}
			if seen[m.ID] {
				t.Fatalf("ID %q generated twice", m.ID)
			}
			seen[m.ID] = true
			ids = append(ids, m.ID)
		}
		// Within a batch the counter runs up, wrapping at most once in
		// 4096: the IDs sort in publish order up to that wrap.
		wraps := 0
		for i := 1; i < len(ids); i++ {
			if ids[i][14:18] < ids[i-1][14:18] {
				wraps++
			}
		}
		if wraps > 1 {
			t.Fatalf("the counter went down %d times in one batch", wraps)
		}
	}
	if len(seen) != 10*998 {
		t.Fatalf("%d distinct IDs, want %d", len(seen), 10*998)
	}
}

func BenchmarkNewIDs(b *testing.B) {
	msgs := make([]*Message, 100)
	for i := range msgs {
		msgs[i] = &Message{}
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range msgs {
			m.ID = ""
		}
		if err := newIDs(msgs, now); err != nil {
			b.Fatal(err)
		}
	}
}
