package asyncrpc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/groundwork-go/groundwork/mq/asyncrpc"
)

// TestClientRetriesBusyServers: a server that answers 503 and then 429,
// with Retry-After, gets the request again under the same message key
// and with the same body until it accepts it; the call then completes as
// usual.
func TestClientRetriesBusyServers(t *testing.T) {
	mqc := memMQ(t, "busy")
	s, _ := serve(t, mqc, echo, asyncrpc.ServerOptions{})
	var mu sync.Mutex
	var keys []string
	refusals := []int{http.StatusServiceUnavailable, http.StatusTooManyRequests}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get(asyncrpc.HeaderMessageKey))
		n := len(keys)
		mu.Unlock()
		if n <= len(refusals) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "busy", refusals[n-1])
			return
		}
		s.ServeHTTP(w, r)
	}))
	defer front.Close()
	c := client(t, mqc, asyncrpc.ClientOptions{})
	call, err := c.Post(context.Background(), front.URL, "text/plain", strings.NewReader("again"), nil)
	if err != nil {
		t.Fatalf("Post to a server busy twice: %v", err)
	}
	mu.Lock()
	if len(keys) != 3 || keys[0] != call.Key() || keys[1] != call.Key() || keys[2] != call.Key() {
		t.Errorf("requests carried keys %q, want 3 times %q", keys, call.Key())
	}
	mu.Unlock()
	if r, err := call.Wait(context.Background()); err != nil || string(r.Body) != "AGAIN" {
		t.Fatalf("outcome %+v %v, want AGAIN", r, err)
	}
}

// TestDoKeepsTheKeyOnFailure: a Do that fails on the way (the connection
// drops) leaves its key on the request, so that doing the same request
// again repeats the same call rather than starting another.
func TestDoKeepsTheKeyOnFailure(t *testing.T) {
	mqc := memMQ(t, "dokey")
	s, _ := serve(t, mqc, echo, asyncrpc.ServerOptions{})
	var mu sync.Mutex
	var keys []string
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get(asyncrpc.HeaderMessageKey))
		first := len(keys) == 1
		mu.Unlock()
		if first { // the connection drops before any answer
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		s.ServeHTTP(w, r)
	}))
	defer front.Close()
	c := client(t, mqc, asyncrpc.ClientOptions{})
	req, err := http.NewRequest(http.MethodPost, front.URL, strings.NewReader("order-9"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(context.Background(), req, nil); err == nil {
		t.Fatal("Do over a dropped connection returned no error")
	}
	key := req.Header.Get(asyncrpc.HeaderMessageKey)
	if key == "" {
		t.Fatal("the failed Do left no X-Message-Key on the request: a retry would start another call")
	}
	call, err := c.Do(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if call.Key() != key {
		t.Fatalf("the retried Do has key %q, want %q", call.Key(), key)
	}
	if r, err := call.Wait(context.Background()); err != nil || string(r.Body) != "ORDER-9" {
		t.Fatalf("outcome %+v %v, want ORDER-9 (the body sent again)", r, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 2 || keys[0] != key || keys[1] != key {
		t.Fatalf("requests carried keys %q, want 2 times %q", keys, key)
	}
}
