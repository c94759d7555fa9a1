package asyncrpc_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq/asyncrpc"
)

// flakyLease is an idempotency store whose renewals fail once the work
// has started: renew answers in its place.
type flakyLease struct {
	asyncrpc.IdempotencyStore
	started   atomic.Bool
	renew     func() (bool, error)
	completed atomic.Int32
}

func (s *flakyLease) Renew(ctx context.Context, key, owner string, lease time.Duration) (bool, error) {
	if s.started.Load() {
		return s.renew()
	}
	return s.IdempotencyStore.Renew(ctx, key, owner, lease)
}

func (s *flakyLease) Complete(ctx context.Context, key, owner string, response []byte, keep time.Duration) (bool, error) {
	s.completed.Add(1)
	return s.IdempotencyStore.Complete(ctx, key, owner, response, keep)
}

// TestLostLeaseCancelsTheWork: a server whose claim cannot be renewed
// (another server took it, or the store stays unreachable past the lease)
// cancels the work's context, and does not complete the call: another
// server may be running it.
func TestLostLeaseCancelsTheWork(t *testing.T) {
	for name, renew := range map[string]func() (bool, error){
		"taken":       func() (bool, error) { return false, nil },
		"unreachable": func() (bool, error) { return false, errors.New("store down") },
	} {
		t.Run(name, func(t *testing.T) {
			store := &flakyLease{IdempotencyStore: asyncrpc.NewMemoryIdempotency(), renew: renew}
			cancelled := make(chan error, 1)
			s, url := serve(t, memMQ(t, "lease-"+name), func(ctx context.Context, _ *asyncrpc.Request) (*asyncrpc.Response, error) {
				store.started.Store(true)
				select {
				case <-ctx.Done():
					cancelled <- context.Cause(ctx)
				case <-time.After(patience):
					cancelled <- nil
				}
				return nil, ctx.Err()
			}, asyncrpc.ServerOptions{Idempotency: store, Lease: 30 * time.Millisecond})
			h := map[string]string{asyncrpc.HeaderMessageKey: "k-lease", asyncrpc.HeaderResponseTopic: "lease.responses"}
			if resp, m := post(t, url, h, "x"); resp.StatusCode != 202 {
				t.Fatalf("%d %v", resp.StatusCode, m)
			}
			if cause := <-cancelled; cause == nil {
				t.Fatal("the work's context was not cancelled after the lease was lost")
			} else if !errors.Is(cause, asyncrpc.ErrLeaseLost) {
				t.Fatalf("the work's context ended with %v, want ErrLeaseLost", cause)
			}
			if err := s.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := store.completed.Load(); n != 0 {
				t.Fatalf("a server that lost its lease completed the call %d times", n)
			}
		})
	}
}

// TestQueuedPastItsLease: a call that waits in a server's queue longer
// than its lease may be taken over by another server; when a worker
// finally takes it, the first server checks its claim, finds the call
// done by the other, and publishes the stored response instead of running
// the work a second time.
func TestQueuedPastItsLease(t *testing.T) {
	store := &doneCounter{IdempotencyStore: asyncrpc.NewMemoryIdempotency()}
	release, unblock := gate()
	defer unblock()
	var aRuns, bRuns atomic.Int32
	a, aURL := serve(t, memMQ(t, "pastlease"), func(ctx context.Context, r *asyncrpc.Request) (*asyncrpc.Response, error) {
		aRuns.Add(1)
		if r.MessageKey != "blocker" {
			t.Errorf("server A ran %s, which server B had completed", r.MessageKey)
		}
		<-release
		return echo(ctx, r)
	}, asyncrpc.ServerOptions{Idempotency: store, Concurrency: 1, Lease: 60 * time.Millisecond})
	_, bURL := serve(t, memMQ(t, "pastlease"), func(ctx context.Context, r *asyncrpc.Request) (*asyncrpc.Response, error) {
		bRuns.Add(1)
		return &asyncrpc.Response{StatusCode: 200, Body: []byte("done by B")}, nil
	}, asyncrpc.ServerOptions{Idempotency: store, Lease: 60 * time.Millisecond})
	c := client(t, memMQ(t, "pastlease"), asyncrpc.ClientOptions{ResponseTopic: "pastlease.responses", Timeout: patience})

	h := map[string]string{asyncrpc.HeaderMessageKey: "blocker", asyncrpc.HeaderResponseTopic: "pastlease.responses"}
	if resp, m := post(t, aURL, h, ""); resp.StatusCode != 202 {
		t.Fatalf("%d %v", resp.StatusCode, m)
	}
	waitFor(t, "A's only worker to be busy", func() bool { return aRuns.Load() == 1 })
	req, _ := http.NewRequest(http.MethodPost, aURL, strings.NewReader("queued"))
	req.Header.Set(asyncrpc.HeaderMessageKey, "queued")
	call, err := c.Do(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Another request with the key reaches B, which runs the call once
	// A's lease has run out. B answers to another topic, so that what
	// the call receives can only come from A.
	h[asyncrpc.HeaderMessageKey], h[asyncrpc.HeaderResponseTopic] = "queued", "elsewhere.responses"
	// B's handler running is not enough: until B has recorded the call
	// as done, A would find it running (another server's) and leave it.
	waitFor(t, "B to take the call over and complete it", func() bool {
		if bRuns.Load() == 0 {
			post(t, bURL, h, "queued")
		}
		return store.done.Load() == 1
	})
	unblock()
	if r, err := call.Wait(context.Background()); err != nil || string(r.Body) != "done by B" {
		t.Fatalf("outcome %+v %v, want B's stored response, published by A", r, err)
	}
	if err := a.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := aRuns.Load(); n != 1 {
		t.Fatalf("server A ran %d calls, want 1 (the blocker)", n)
	}
}

// doneCounter counts the calls an idempotency store recorded as done.
type doneCounter struct {
	asyncrpc.IdempotencyStore
	done atomic.Int32
}

func (s *doneCounter) Complete(ctx context.Context, key, owner string, response []byte, keep time.Duration) (bool, error) {
	ok, err := s.IdempotencyStore.Complete(ctx, key, owner, response, keep)
	if ok && err == nil {
		s.done.Add(1)
	}
	return ok, err
}
