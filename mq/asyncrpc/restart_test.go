package asyncrpc_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/asyncrpc"
)

// TestRestartedClientRecoversResponse: the window the package doc
// describes. A client closes (as a crashed one would be gone) after the
// 202 and before the response; the server completes the call and
// publishes to no reader of that client. A new client process doing the
// call again with the recorded key gets the stored response, and the work
// ran once.
func TestRestartedClientRecoversResponse(t *testing.T) {
	ctx := context.Background()
	const topic = "restart.responses"
	held, unblock := gate()
	defer unblock()
	var runs atomic.Int32
	_, url := serve(t, memMQ(t, "restart"), func(ctx context.Context, r *asyncrpc.Request) (*asyncrpc.Response, error) {
		runs.Add(1)
		<-held
		return echo(ctx, r)
	}, asyncrpc.ServerOptions{})
	published := make(chan string, 4)
	watcher := memMQ(t, "restart")
	sub, err := watcher.Subscribe(ctx, topic, "watcher", func(_ context.Context, m *mq.Message) error {
		published <- m.Key
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	first, err := asyncrpc.NewClient(ctx, memMQ(t, "restart"), asyncrpc.ClientOptions{ResponseTopic: topic})
	if err != nil {
		t.Fatal(err)
	}
	call, err := first.Post(ctx, url, "text/plain", strings.NewReader("order-9"), nil)
	if err != nil {
		t.Fatal(err)
	}
	key := call.Key() // what the caller records durably
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := call.Wait(ctx); !errors.Is(err, asyncrpc.ErrClosed) {
		t.Fatalf("first client's call ended with %v, want ErrClosed", err)
	}
	unblock()
	select {
	case k := <-published:
		if k != key {
			t.Fatalf("published response for key %q, want %q", k, key)
		}
	case <-time.After(patience):
		t.Fatal("the server never published the response")
	}

	second := client(t, memMQ(t, "restart"), asyncrpc.ClientOptions{ResponseTopic: topic, Timeout: patience})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("order-9"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(asyncrpc.HeaderMessageKey, key)
	again, err := second.Do(ctx, req, nil)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	resp, err := again.Wait(wctx)
	if err != nil {
		t.Fatalf("the call done again with its key: %v", err)
	}
	if string(resp.Body) != "ORDER-9" || resp.Header.Get("X-Key") != key {
		t.Fatalf("response %q (key %q), want the stored one for %q", resp.Body, resp.Header.Get("X-Key"), key)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("work ran %d times, want once", n)
	}
}
