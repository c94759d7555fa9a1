package asyncrpc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/resilience"
)

// refusing answers the i-th request with refusals[i] (status and
// Retry-After), then 202 to every later one; it records the keys.
type refusing struct {
	mu       sync.Mutex
	keys     []string
	refusals []refusal
}

type refusal struct {
	status     int
	retryAfter string
}

func (h *refusing) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	n := len(h.keys)
	h.keys = append(h.keys, r.Header.Get(HeaderMessageKey))
	h.mu.Unlock()
	if n < len(h.refusals) {
		if ra := h.refusals[n].retryAfter; ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		http.Error(w, "busy", h.refusals[n].status)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (h *refusing) requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.keys...)
}

// retryClient returns a client whose waits between attempts are recorded
// instead of spent; wait's error, when set, ends the waiting.
func retryClient(t *testing.T, p resilience.RetryPolicy, waitErr error) (*Client, *[]time.Duration) {
	t.Helper()
	mqc, err := mq.Open(context.Background(), "mem://retry-internal")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mqc.Close() })
	c, err := NewClient(context.Background(), mqc, ClientOptions{ResponseTopic: "retry.responses", Retry: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var waits []time.Duration
	c.wait = func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		return waitErr
	}
	return c, &waits
}

// TestRetryHonoursRetryAfter: between attempts the client waits what the
// server's Retry-After asks (seconds or an HTTP date), or its backoff
// when the server says nothing; and every attempt carries the same key.
func TestRetryHonoursRetryAfter(t *testing.T) {
	date := time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat)
	h := &refusing{refusals: []refusal{{503, "7"}, {429, date}, {503, ""}, {429, "garbage"}}}
	hs := httptest.NewServer(h)
	defer hs.Close()
	c, waits := retryClient(t, resilience.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: 10 * time.Millisecond, MaxAttempts: 5}, nil)
	call, err := c.Post(context.Background(), hs.URL, "text/plain", strings.NewReader("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := h.requests()
	if len(keys) != 5 {
		t.Fatalf("%d requests, want 5 (4 refused, then accepted)", len(keys))
	}
	for i, k := range keys {
		if k != call.Key() {
			t.Fatalf("request %d carried key %q, want %q", i, k, call.Key())
		}
	}
	w := *waits
	if len(w) != 4 {
		t.Fatalf("waits %v, want 4", w)
	}
	if w[0] != 7*time.Second {
		t.Errorf("after Retry-After: 7 the client waited %v", w[0])
	}
	if w[1] <= 18*time.Second || w[1] > 20*time.Second {
		t.Errorf("after Retry-After: <20s from now> the client waited %v", w[1])
	}
	for i := 2; i < 4; i++ { // no usable Retry-After: the policy's wait, jittered by half
		if w[i] < 5*time.Millisecond || w[i] > 15*time.Millisecond {
			t.Errorf("wait %d without Retry-After: %v, want the backoff's ~10ms", i, w[i])
		}
	}
}

// TestRetryIsBounded: the policy's attempts, its elapsed time and the
// caller's ctx each end the retries, with the last refusal as the error;
// other statuses are not retried.
func TestRetryIsBounded(t *testing.T) {
	fast := resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}
	cases := []struct {
		name     string
		policy   resilience.RetryPolicy
		waitErr  error
		refusals []refusal
		requests int
		want     string
	}{
		{"attempts", resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxAttempts: 3}, nil,
			[]refusal{{503, ""}, {503, ""}, {503, ""}, {503, ""}}, 3, "503"},
		{"retry-after past the elapsed time", resilience.RetryPolicy{MaxAttempts: 5, MaxElapsedTime: 10 * time.Second}, nil,
			[]refusal{{429, "60"}}, 1, "429"},
		{"wait ended by ctx", fast, context.Canceled,
			[]refusal{{503, "1"}, {503, "1"}}, 1, "503"},
		{"other status", fast, nil,
			[]refusal{{500, "1"}}, 1, "500"},
		{"retries off", resilience.RetryPolicy{MaxAttempts: 1}, nil,
			[]refusal{{503, ""}}, 1, "503"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &refusing{refusals: tc.refusals}
			hs := httptest.NewServer(h)
			defer hs.Close()
			c, _ := retryClient(t, tc.policy, tc.waitErr)
			_, err := c.Post(context.Background(), hs.URL, "text/plain", nil, nil)
			if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Post: %v, want ErrRejected with %s", err, tc.want)
			}
			if n := len(h.requests()); n != tc.requests {
				t.Fatalf("%d requests, want %d", n, tc.requests)
			}
		})
	}
}

// TestMemoryStoreIsBounded: the memory store forgets the oldest completed
// calls past its bound, and only those.
func TestMemoryStoreIsBounded(t *testing.T) {
	s := NewMemoryIdempotency()
	ctx := context.Background()
	for i := range memoryMaxCompleted + 1 {
		key := fmt.Sprint("k", i)
		if res, _, err := s.Claim(ctx, key, "a", time.Minute); res != Claimed || err != nil {
			t.Fatalf("claim %s: %v %v", key, res, err)
		}
		if ok, err := s.Complete(ctx, key, "a", []byte(key), time.Hour); !ok || err != nil {
			t.Fatalf("complete %s: %v %v", key, ok, err)
		}
	}
	if res, _, _ := s.Claim(ctx, "k0", "b", time.Minute); res != Claimed {
		t.Fatalf("the oldest completed call: %v, want forgotten (Claimed)", res)
	}
	if res, stored, _ := s.Claim(ctx, "k1", "b", time.Minute); res != Completed || string(stored) != "k1" {
		t.Fatalf("the second oldest: %v %q, want Completed with its response", res, stored)
	}
}
