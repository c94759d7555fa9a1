package lock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/lock"
)

// TestObtainSurvivesClientRetry: the reply to the obtain script is lost,
// go-redis times out and (MaxRetries 1) runs the script again on a new
// connection. The lock is already the caller's by then; the re-run must
// hand it over, with the counter's latest value as its token, not report
// it held by someone else and leave it orphaned for its ttl.
func TestObtainSurvivesClientRetry(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	direct := client(t, r.Addr)
	p := testserver.NewRedisProxy(t, r.Addr)
	rdb := redis.NewClient(&redis.Options{Addr: p.Addr(), ReadTimeout: 200 * time.Millisecond, MaxRetries: 1})
	defer rdb.Close()
	l := lock.New(rdb)
	ctx := context.Background()

	dropped := dropScriptReply(p)
	lk, err := l.Obtain(ctx, "retried", 10*time.Second)
	awaitDrop(t, dropped)
	if err != nil {
		held, _ := direct.Exists(ctx, "lock:{retried}").Result()
		t.Fatalf("Obtain whose reply was lost and retried by go-redis: %v (lock key left in Redis: %v)", err, held == 1)
	}
	if fence, _ := direct.Get(ctx, "lock:{retried}:fence").Uint64(); fence != 2 || lk.Token() != fence {
		t.Fatalf("token %d, fencing counter %d: want both runs counted and the token the counter's latest value", lk.Token(), fence)
	}
	if err := lk.Release(ctx); err != nil {
		t.Fatalf("Release of the retried lock: %v", err)
	}
}

// dropScriptReply arms p to swallow the reply to the next script call
// (EVALSHA or EVAL), as a network that loses a reply does: the script
// runs on the server, and the client waits for an answer that never
// comes, times out, and (if it retries) sends the command again on a new
// connection.
func dropScriptReply(p *testserver.RedisProxy) <-chan struct{} {
	return p.DropReply(testserver.Drop{Command: testserver.ScriptCall(""), Keep: true})
}

// awaitDrop fails t unless the proxy swallowed a reply, which is what the
// tests using it stage.
func awaitDrop(t *testing.T, dropped <-chan struct{}) {
	t.Helper()
	select {
	case <-dropped:
	case <-time.After(patience):
		t.Fatal("the proxy lost no reply: the test did not stage what it meant to")
	}
}

// TestFailedObtainLeavesNothingBehind: an Obtain that fails after its
// script may have run (the reply lost, then a read timeout, or the
// caller's deadline) deletes the lock it may have set, so the key is free
// at once rather than orphaned for its ttl.
func TestFailedObtainLeavesNothingBehind(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	direct := client(t, r.Addr)
	for _, tc := range []struct {
		name string
		opts redis.Options
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"read timeout", redis.Options{ReadTimeout: 200 * time.Millisecond, MaxRetries: -1},
			func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
		{"caller's deadline", redis.Options{ContextTimeoutEnabled: true, MaxRetries: -1},
			func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 200*time.Millisecond)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testserver.NewRedisProxy(t, r.Addr)
			opts := tc.opts
			opts.Addr = p.Addr()
			rdb := redis.NewClient(&opts)
			defer rdb.Close()
			key := "orphan " + tc.name
			ctx, cancel := tc.ctx()
			defer cancel()
			dropped := dropScriptReply(p)
			if _, err := lock.New(rdb).Obtain(ctx, key, time.Minute); err == nil || errors.Is(err, lock.ErrNotObtained) {
				t.Fatalf("Obtain with its reply lost: %v, want the Redis or context error", err)
			}
			awaitDrop(t, dropped)
			if n, _ := direct.Exists(context.Background(), "lock:{"+key+"}").Result(); n != 0 {
				ttl, _ := direct.PTTL(context.Background(), "lock:{"+key+"}").Result()
				t.Fatalf("the failed Obtain left its lock in Redis for another %v", ttl)
			}
		})
	}
}

// TestTTLWhileWatchdogRefreshes: TTL reads the lock's ttl, which the
// watchdog's refreshes write; under -race an unguarded read is reported.
// Each refresh is observed through another client (no synchronisation
// with the watchdog goroutine); then TTL is called a few times while the
// watchdog sleeps until its next refresh, ttl/3 later. The first call may
// still be ordered before the watchdog's write through the client's
// connection pool; the later ones are not.
func TestTTLWhileWatchdogRefreshes(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	direct := client(t, r.Addr)
	l := lock.New(client(t, r.Addr))
	ctx := context.Background()
	const ttl = 3 * time.Second
	lk, err := l.Obtain(ctx, "ttl-race", ttl, lock.WithWatchdog())
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Release(ctx)
	for range 3 {
		last, _ := direct.PTTL(ctx, "lock:{ttl-race}").Result()
		waitFor(t, "a watchdog refresh", func() bool {
			if lk.Context().Err() != nil {
				t.Fatalf("the lock was lost: %v", context.Cause(lk.Context()))
			}
			// PTTL only falls between refreshes.
			now, _ := direct.PTTL(ctx, "lock:{ttl-race}").Result()
			refreshed := now > last
			last = now
			return refreshed
		})
		for range 3 {
			if left, err := lk.TTL(ctx); err != nil || left <= 0 || left > ttl {
				t.Fatalf("TTL: %v %v", left, err)
			}
		}
	}
}

// cancelOnScript is a go-redis hook that calls cancel when the client
// sends its nth EVALSHA: the caller's context ends just as an attempt
// starts.
type cancelOnScript struct {
	n      int
	seen   int
	cancel context.CancelFunc
}

func (h *cancelOnScript) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *cancelOnScript) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *cancelOnScript) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "evalsha" {
			if h.seen++; h.seen == h.n {
				h.cancel()
			}
		}
		return next(ctx, cmd)
	}
}

// TestRetryEndingWithCtxIsNotObtained: Obtain retrying a held lock when
// ctx ends answers ErrNotObtained, the state it saw, also when ctx ends
// just as a retry starts and that attempt fails with the context's error.
func TestRetryEndingWithCtxIsNotObtained(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	ctx := context.Background()
	held, err := lock.New(client(t, r.Addr)).Obtain(ctx, "ctx-ends", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release(ctx)
	wait, cancel := context.WithCancel(ctx)
	defer cancel()
	rdb := client(t, r.Addr)
	rdb.AddHook(&cancelOnScript{n: 2, cancel: cancel}) // the first retry
	_, err = lock.New(rdb).Obtain(wait, "ctx-ends", 10*time.Second, lock.WithRetry(lock.LinearRetry(time.Millisecond)))
	if !errors.Is(err, lock.ErrNotObtained) {
		t.Fatalf("Obtain whose ctx ended while it retried a held lock: %v, want ErrNotObtained", err)
	}
}
