package logship

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
)

// reviewCapture is what a handler whose submit was swapped captured,
// synchronously: the documents, copied.
type reviewCapture struct {
	mu   sync.Mutex
	docs [][]byte
}

func (c *reviewCapture) last(t testing.TB) []byte {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.docs) == 0 {
		t.Fatal("no record")
	}
	return c.docs[len(c.docs)-1]
}

// reviewHandler is a Handler of a fresh Shipper whose records are
// captured as Handle encodes them.
func reviewHandler(t testing.TB, o *HandlerOptions) (*handler, *reviewCapture) {
	t.Helper()
	s, _ := frontShipper(t)
	h := s.Handler(o).(*handler)
	c := &reviewCapture{}
	h.c.submit = func(_ context.Context, r Record, _ int) {
		c.mu.Lock()
		c.docs = append(c.docs, bytes.Clone(r.JSON))
		c.mu.Unlock()
	}
	return h, c
}

// reviewDupKey returns the first key that appears twice in one object of
// doc (Elasticsearch refuses such a document), "" when none does, or the
// decoding error.
func reviewDupKey(doc []byte) string {
	dec := json.NewDecoder(bytes.NewReader(doc))
	var walk func() string
	walk = func() string {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Sprintf("decode: %v", err)
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return fmt.Sprintf("decode: %v", err)
				}
				if seen[k.(string)] {
					return k.(string)
				}
				seen[k.(string)] = true
				if r := walk(); r != "" {
					return r
				}
			}
			_, _ = dec.Token()
		case json.Delim('['):
			for dec.More() {
				if r := walk(); r != "" {
					return r
				}
			}
			_, _ = dec.Token()
		}
		return ""
	}
	return walk()
}

var _ = slog.Info
