package lock_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/lock"
)

const patience = 2 * time.Minute

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testserver.WaitFor(t, patience, what, cond)
}

func client(t testing.TB, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

// setup is a Locker with the clients of the instances it uses, for tests
// that change a lock behind its holder's back.
type setup struct {
	*lock.Locker
	raw []redis.UniversalClient
}

// wipe deletes key's lock on every instance, as an expiry, eviction or a
// restart without persistence would.
func (s setup) wipe(t *testing.T, key string) {
	t.Helper()
	for _, c := range s.raw {
		if err := c.Del(context.Background(), "lock:{"+key+"}").Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// lockers returns the three set-ups every behaviour is checked on, all
// emptied for t: the servers are shared by the package's tests (a
// Cluster takes seconds to form), each test starting from empty ones as
// if they were its own.
func lockers(t *testing.T) map[string]setup {
	t.Helper()
	m := sharedLockers.Get(t)
	ctx := context.Background()
	for name, s := range m {
		for _, c := range s.raw {
			var err error
			if cl, ok := c.(*redis.ClusterClient); ok {
				err = cl.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.FlushAll(ctx).Err() })
			} else {
				err = c.FlushAll(ctx).Err()
			}
			if err != nil {
				t.Fatalf("emptying the %s servers: %v", name, err)
			}
		}
	}
	return m
}

var sharedLockers = testserver.NewShared(func(t testing.TB) map[string]setup {
	sc := client(t, testserver.StartRedis(t, nil).Addr)
	rc := testserver.StartRedisCluster(t)
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs})
	t.Cleanup(func() { cl.Close() })
	var five []redis.UniversalClient
	for range 5 {
		five = append(five, client(t, testserver.StartRedis(t, nil).Addr))
	}
	red, err := lock.NewRedlock(five)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]setup{
		"standalone": {lock.New(sc), []redis.UniversalClient{sc}},
		"cluster":    {lock.New(cl), []redis.UniversalClient{cl}},
		"redlock5":   {red, five},
	}
})

func TestBasics(t *testing.T) {
	ctx := context.Background()
	for name, l := range lockers(t) {
		t.Run(name, func(t *testing.T) {
			a, err := l.Obtain(ctx, "basics", 10*time.Second, lock.WithMetadata("host-a pid 1"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Obtain(ctx, "basics", 10*time.Second); !errors.Is(err, lock.ErrNotObtained) {
				t.Fatalf("second Obtain of a held lock: %v, want ErrNotObtained", err)
			}
			if meta, err := l.Holder(ctx, "basics"); err != nil || meta != "host-a pid 1" {
				t.Fatalf("Holder: %q %v", meta, err)
			}
			ttl, err := a.TTL(ctx)
			if err != nil || ttl <= 0 || ttl > 10*time.Second {
				t.Fatalf("TTL: %v %v", ttl, err)
			}
			if err := a.Refresh(ctx, 20*time.Second); err != nil {
				t.Fatal(err)
			}
			if ttl, _ := a.TTL(ctx); ttl <= 10*time.Second {
				t.Fatalf("TTL after Refresh to 20s: %v", ttl)
			}
			if err := a.Release(ctx); err != nil {
				t.Fatal(err)
			}
			if a.Context().Err() == nil {
				t.Fatal("Context not cancelled by Release")
			}
			if err := a.Release(ctx); !errors.Is(err, lock.ErrNotHeld) {
				t.Fatalf("second Release: %v, want ErrNotHeld", err)
			}
			b, err := l.Obtain(ctx, "basics", 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Release(ctx)
			if b.Token() <= a.Token() {
				t.Fatalf("token %d after %d: not increasing", b.Token(), a.Token())
			}
			if _, err := l.Holder(ctx, "free"); !errors.Is(err, lock.ErrNotHeld) {
				t.Fatalf("Holder of a free lock: %v", err)
			}
		})
	}
}

// TestExpiredLockIsNotHeld: past its ttl a lock is someone else's to take;
// the first holder's Release and Refresh say ErrNotHeld, and its Context
// was cancelled at the local expiry.
func TestExpiredLockIsNotHeld(t *testing.T) {
	ctx := context.Background()
	for name, l := range lockers(t) {
		t.Run(name, func(t *testing.T) {
			a, err := l.Obtain(ctx, "expiry", 200*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			<-a.Context().Done()
			if !errors.Is(context.Cause(a.Context()), lock.ErrLost) {
				t.Fatalf("cause %v, want ErrLost", context.Cause(a.Context()))
			}
			var b *lock.Lock
			waitFor(t, "the lock to expire in Redis", func() bool {
				b, err = l.Obtain(ctx, "expiry", 10*time.Second)
				return err == nil
			})
			defer b.Release(ctx)
			if err := a.Refresh(ctx, time.Second); !errors.Is(err, lock.ErrNotHeld) {
				t.Fatalf("Refresh of an expired lock: %v", err)
			}
			if err := a.Release(ctx); !errors.Is(err, lock.ErrNotHeld) {
				t.Fatalf("Release of an expired lock: %v", err)
			}
			if meta, _ := l.Holder(ctx, "expiry"); meta != "" {
				t.Fatalf("holder metadata %q", meta)
			}
			if _, err := b.TTL(ctx); err != nil {
				t.Fatalf("the new holder's lock was touched: %v", err)
			}
		})
	}
}

func TestRetryWaitsForRelease(t *testing.T) {
	l := lock.New(client(t, testserver.StartRedis(t, nil).Addr), lock.WithRetry(lock.LinearRetry(5*time.Millisecond)))
	ctx := context.Background()
	a, err := l.Obtain(ctx, "retry", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		b, err := l.Obtain(ctx, "retry", 10*time.Second, lock.WithRetry(lock.ExponentialRetry(time.Millisecond, 20*time.Millisecond)))
		if err == nil {
			err = b.Release(ctx)
		}
		got <- err
	}()
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("retrying Obtain: %v", err)
	}
	// Retrying ends with ctx.
	c, _ := l.Obtain(ctx, "retry", 10*time.Second)
	defer c.Release(ctx)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := l.Obtain(short, "retry", 10*time.Second); !errors.Is(err, lock.ErrNotObtained) {
		t.Fatalf("Obtain past ctx: %v, want ErrNotObtained", err)
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	l := lock.New(client(t, testserver.StartRedis(t, nil).Addr))
	for _, tc := range []struct {
		key  string
		ttl  time.Duration
		want string
	}{{"", time.Second, "empty key"}, {"k", 0, "ttl"}, {"k", -time.Second, "ttl"}, {"k", 4 * time.Millisecond, "twice the clock drift"}} {
		if _, err := l.Obtain(ctx, tc.key, tc.ttl); !errors.Is(err, lock.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Obtain(%q, %v): %v, want ErrInvalid naming %q", tc.key, tc.ttl, err, tc.want)
		}
	}
	if _, err := lock.New(nil).Obtain(ctx, "k", time.Second); !errors.Is(err, lock.ErrInvalid) {
		t.Errorf("nil client: %v", err)
	}
	if _, err := new(lock.Locker).Obtain(ctx, "k", time.Second); !errors.Is(err, lock.ErrInvalid) || !strings.Contains(err.Error(), "New or NewRedlock") {
		t.Errorf("a zero Locker: %v", err)
	}
	if _, err := lock.NewRedlock(nil); !errors.Is(err, lock.ErrInvalid) {
		t.Errorf("no clients: %v", err)
	}
	if _, err := lock.NewRedlock([]redis.UniversalClient{client(t, "127.0.0.1:1"), nil}); !errors.Is(err, lock.ErrInvalid) || !strings.Contains(err.Error(), "client 1") {
		t.Errorf("a nil client: %v", err)
	}
}
