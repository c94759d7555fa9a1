package lock_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/lock"
)

// dropRelease fails the release script (without sending it) while on is set.
type dropRelease struct {
	sha, src string
	on       atomic.Bool
}

func (h *dropRelease) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *dropRelease) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *dropRelease) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if a := cmd.Args(); h.on.Load() && len(a) > 1 && (cmd.Name() == "evalsha" && a[1] == h.sha || cmd.Name() == "eval" && a[1] == h.src) {
			cmd.SetErr(errors.New("injected: release lost"))
			return cmd.Err()
		}
		return next(ctx, cmd)
	}
}

// TestRedlockRerunRenewsExpiry: a Redlock attempt that failed its quorum
// and whose clean-up did not reach instance A leaves A holding the
// caller's value. A later attempt of the same Obtain counts A as won
// (obtain.lua's GET branch) and computes validity as if A had been set
// then, so that branch must set A's expiry anew: otherwise A expires long
// before the validity ends and another client takes A+D+E, a quorum,
// while the first still holds a live Context.
func TestRedlockRerunRenewsExpiry(t *testing.T) {
	src, err := os.ReadFile("scripts/release.lua")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(src)
	h := &dropRelease{sha: hex.EncodeToString(sum[:]), src: string(src)}
	_, c := fiveRedis(t, nil)
	c[0].AddHook(h)
	h.on.Store(true)
	const key, ttl = "stale", 3 * time.Second
	occupy(t, key, c[2], c[3], c[4]) // X holds C, D, E

	l := redlock(t, c...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	type res struct {
		lk  *lock.Lock
		err error
	}
	got := make(chan res, 1)
	go func() {
		lk, err := l.Obtain(ctx, key, ttl, lock.WithRetry(lock.LinearRetry(100*time.Millisecond)))
		got <- res{lk, err}
	}()
	time.Sleep(ttl * 5 / 6)
	vacate(t, key, c[2]) // X lets C go; D, E still X's
	r := <-got
	h.on.Store(false)
	if r.err != nil {
		t.Fatalf("Obtain: %v", r.err)
	}
	defer r.lk.Release(context.Background())
	pttl, _ := c[0].PTTL(ctx, "lock:{"+key+"}").Result()
	t.Logf("A's remaining PTTL %v right after Obtain returned (lock ttl %v)", pttl, ttl)
	vacate(t, key, c[3], c[4]) // X is done with D, E
	waitFor(t, "A's stale key to expire", func() bool { return c[0].Exists(ctx, "lock:{"+key+"}").Val() == 0 })
	if r.lk.Context().Err() != nil {
		t.Skip("first holder's Context already ended; no overlap to show")
	}
	y, err := redlock(t, c...).Obtain(ctx, key, ttl)
	if err == nil {
		defer y.Release(context.Background())
		t.Fatalf("two holders: Y obtained %q (token %d) while the first holder's Context is live (token %d)", key, y.Token(), r.lk.Token())
	}
}

// TestDoPanicReleases: fn panicking inside Do (recovered further up, as
// an HTTP server does) must still stop the watchdog and release the lock,
// not leave it refreshed for as long as the process lives. The release
// happens before the panic leaves Do, so the lock is free as soon as it is
// recovered; goleak (TestMain) sees a watchdog left running.
func TestDoPanicReleases(t *testing.T) {
	rdb := client(t, testserver.StartRedis(t, nil).Addr)
	l := lock.New(rdb)
	ctx := context.Background()
	func() {
		defer func() { _ = recover() }()
		_ = l.Do(ctx, "panic", 10*time.Second, func(context.Context, *lock.Lock) error { panic("boom") })
	}()
	if meta, err := l.Holder(ctx, "panic"); !errors.Is(err, lock.ErrNotHeld) {
		t.Fatalf("after fn panicked in Do, the lock is still held (holder %q, %v)", meta, err)
	}
}

// TestContextErrorsUnwrapped: context errors come back unwrapped from
// Refresh, Release, TTL and Holder, single-instance and Redlock alike, and
// a Redlock Release that reached no instance does not report a lock still
// held as "expired or changed hands" nor end the Lock, so it can be
// released again.
func TestContextErrorsUnwrapped(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	ctx := context.Background()

	single := lock.New(client(t, testserver.StartRedis(t, nil).Addr))
	lk, err := single.Obtain(ctx, "ctxerr", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := lk.Refresh(canceled, 10*time.Second); err != context.Canceled {
		t.Errorf("single Refresh with a cancelled ctx: %v, want context.Canceled unwrapped", err)
	}
	if _, err := lk.TTL(canceled); err != context.Canceled {
		t.Errorf("single TTL with a cancelled ctx: %v, want context.Canceled unwrapped", err)
	}
	if _, err := single.Holder(canceled, "ctxerr"); err != context.Canceled {
		t.Errorf("Holder with a cancelled ctx: %v, want context.Canceled unwrapped", err)
	}
	lk.Release(ctx)

	_, c := fiveRedis(t, nil)
	red := redlock(t, c...)
	rl, err := red.Obtain(ctx, "ctxerr", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := rl.Refresh(canceled, 10*time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("Redlock Refresh with a cancelled ctx: %v, not even errors.Is(context.Canceled)", err)
	}
	if err := rl.Release(canceled); errors.Is(err, lock.ErrNotHeld) {
		held := 0
		for _, x := range c {
			held += int(x.Exists(ctx, "lock:{ctxerr}").Val())
		}
		t.Errorf("Redlock Release with a cancelled ctx: %v, yet the lock is still held on %d of 5 instances (and the Lock is now done: orphaned for its ttl)", err, held)
	}
}
