package asyncrpc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/asyncrpc"
	"github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/resilience"
)

// switchable is one address for the callers, as a load balancer gives,
// whose handler the test swaps.
func switchable(t *testing.T, first http.Handler) (url string, to func(http.Handler)) {
	t.Helper()
	var h atomic.Pointer[http.Handler]
	h.Store(&first)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*h.Load()).ServeHTTP(w, r) }))
	t.Cleanup(hs.Close)
	return hs.URL, func(next http.Handler) { h.Store(&next) }
}

// TestResendRecoversALostResponse: server A completes a call, but its
// response is still in A's outage buffer when A dies. A resend of the call
// reaches server B, which shares A's idempotency store: B does not run the
// work again and publishes the response A stored, so the callback gets it.
func TestResendRecoversALostResponse(t *testing.T) {
	broker, err := memmq.Named("lost", nil)
	if err != nil {
		t.Fatal(err)
	}
	store := asyncrpc.NewMemoryIdempotency()
	var runs atomic.Int32
	work := func(ctx context.Context, r *asyncrpc.Request) (*asyncrpc.Response, error) {
		runs.Add(1)
		return echo(ctx, r)
	}
	aMQ, err := mq.Open(context.Background(), "mem://lost", mq.WithOutageBuffer(t.TempDir()),
		mq.WithRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 10 * time.Millisecond, MaxAttempts: 2}),
		mq.WithBreaker(resilience.BreakerPolicy{OpenTimeout: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	defer aMQ.Close()
	a, err := asyncrpc.NewServer(aMQ, work, asyncrpc.ServerOptions{Idempotency: store})
	if err != nil {
		t.Fatal(err)
	}
	url, switchTo := switchable(t, a)
	c := client(t, memMQ(t, "lost"), asyncrpc.ClientOptions{ResponseTopic: "lost.responses", Timeout: patience})

	broker.SetReachable(false)
	call, err := c.Post(context.Background(), url, "text/plain", strings.NewReader("order-7"), nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A's response in its outage buffer", func() bool { return aMQ.Buffered() > 0 })
	// A dies: it stops, and its buffer, never opened again, takes the
	// response with it.
	if err := a.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := aMQ.Close(); err != nil {
		t.Fatal(err)
	}
	broker.SetReachable(true)

	b, _ := serve(t, memMQ(t, "lost"), work, asyncrpc.ServerOptions{Idempotency: store})
	switchTo(b)
	if err := call.Resend(context.Background()); err != nil {
		t.Fatal(err)
	}
	r, err := call.Wait(context.Background())
	if err != nil || string(r.Body) != "ORDER-7" || r.Header.Get("X-Key") != call.Key() {
		t.Fatalf("after the resend: %+v, %v; want A's stored response ORDER-7", r, err)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("the work ran %d times, want once (B publishes A's stored response)", n)
	}
}
