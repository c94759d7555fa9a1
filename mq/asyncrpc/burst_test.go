package asyncrpc_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq/asyncrpc"
)

// TestBurstOnADefaultServer: 1,000 concurrent Posts from 2 client
// instances to one server with default options, 5 ms of work each. The
// server accepts them all at once (what its workers cannot start yet waits
// in its queue), and every callback runs exactly once with its own
// response.
func TestBurstOnADefaultServer(t *testing.T) {
	_, url := serve(t, memMQ(t, "burst"), func(ctx context.Context, r *asyncrpc.Request) (*asyncrpc.Response, error) {
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return echo(ctx, r)
	}, asyncrpc.ServerOptions{})
	o := asyncrpc.ClientOptions{ResponseTopic: "burst.responses", Timeout: patience}
	clients := []*asyncrpc.Client{client(t, memMQ(t, "burst"), o), client(t, memMQ(t, "burst"), o)}

	const n = 1000
	out := newOutcome()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprint("call-", i)
			if _, err := clients[i%2].Post(context.Background(), url, "text/plain", strings.NewReader(id), out.callback(id)); err != nil {
				errs <- fmt.Errorf("%s: %w", id, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed++; failed <= 3 {
			t.Error(err)
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d Posts failed", failed, n)
	}
	out.checkEachOnce(t, clients, n)
}
