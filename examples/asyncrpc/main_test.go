package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestExample runs the example as CI (it must work with no server) and
// checks what it reports: each order accepted at once, each callback
// once with its outcome (the order without items as the 500 the work's
// error becomes), and the request to an unknown path refused by Post.
func TestExample(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	t.Log("\n" + got)
	for _, want := range []string{
		"   POST order A-1: 202 Accepted at once\n",
		"   POST order A-2: 202 Accepted at once\n",
		"   POST order A-3: 202 Accepted at once\n",
		"   callback for A-1: 200 {\"order\":\"A-1\",\"status\":\"confirmed\"}\n",
		"   callback for A-2: 200 {\"order\":\"A-2\",\"status\":\"confirmed\"}\n",
		"   callback for A-3: 500 {\"error\":\"an order needs at least one item\"}\n",
	} {
		if n := strings.Count(got, want); n != 1 {
			t.Errorf("%q appears %d times, want once", want, n)
		}
	}
	if n := strings.Count(got, "callback for"); n != 3 {
		t.Errorf("%d callbacks reported, want 3", n)
	}
	refused := regexp.MustCompile(`(?m)^   a refused request fails at once: asyncrpc: request not accepted: POST http://\S+/orders/unknown: 404 Not Found: 404 page not found$`)
	if !refused.MatchString(got) {
		t.Errorf("no report of the refused request (404 from Post)")
	}
}
