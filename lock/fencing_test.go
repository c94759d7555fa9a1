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

// fiveRedis starts the five independent masters of a Redlock.
func fiveRedis(t *testing.T, o *testserver.RedisOptions) ([]*testserver.Redis, []*redis.Client) {
	t.Helper()
	var servers []*testserver.Redis
	var clients []*redis.Client
	for range 5 {
		s := testserver.StartRedis(t, o)
		servers = append(servers, s)
		clients = append(clients, quickClient(t, s.Addr))
	}
	return servers, clients
}

// quickClient is a client that reports a down instance at the first
// refused dial, as the instances these tests kill are meant to be seen.
func quickClient(t *testing.T, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	return c
}

func redlock(t *testing.T, clients ...*redis.Client) *lock.Locker {
	t.Helper()
	var cs []redis.UniversalClient
	for _, c := range clients {
		cs = append(cs, c)
	}
	l, err := lock.NewRedlock(cs)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// occupy makes key held on the given instances by a value no Obtain uses,
// as another holder's lock would be; vacate deletes it again.
func occupy(t *testing.T, key string, on ...*redis.Client) {
	t.Helper()
	for _, c := range on {
		if err := c.Set(context.Background(), "lock:{"+key+"}", "someone else", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func vacate(t *testing.T, key string, on ...*redis.Client) {
	t.Helper()
	for _, c := range on {
		if err := c.Del(context.Background(), "lock:{"+key+"}").Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func fences(t *testing.T, key string, cs []*redis.Client) []uint64 {
	t.Helper()
	var out []uint64
	for _, c := range cs {
		v, err := c.Get(context.Background(), "lock:{"+key+"}:fence").Uint64()
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestRedlockFencingWithAttemptBetweenWinAndRaise drives the interleaving
// the raise-on-a-majority argument (quorum.go, package doc) covers: X wins
// a quorum {A,B,C}; before X raises the counters, a concurrent attempt Y
// increments D and E (and fails, as X holds A, B, C). Counters had
// drifted before (failed attempts left C and E at 9), so X's token is C's
// 10. The test shows that X's raise leaves every counter at 10 or more,
// never lowering E's 12 from Y, and that the next holder, whose quorum
// {A,B,D} avoids C, gets a token above X's: without the raise A, B, D
// would count to 2, 2, 4 and hand out 4 after 10.
func TestRedlockFencingWithAttemptBetweenWinAndRaise(t *testing.T) {
	_, c := fiveRedis(t, nil)
	a, b, cc, d, e := c[0], c[1], c[2], c[3], c[4]
	l := redlock(t, c...)
	ctx := context.Background()
	const key = "interleaved"

	// Nine attempts that each win only the minority {C,E}: they fail and
	// leave those counters at 9.
	occupy(t, key, a, b, d)
	for range 9 {
		if _, err := l.Obtain(ctx, key, 10*time.Second); !errors.Is(err, lock.ErrNotObtained) {
			t.Fatalf("attempt on a minority: %v, want ErrNotObtained", err)
		}
	}
	vacate(t, key, a, b, d)
	if got := fences(t, key, c); got[2] != 9 || got[4] != 9 || got[0]+got[1]+got[3] != 0 {
		t.Fatalf("counters after the failed attempts: %v", got)
	}

	// X can win only {A,B,C}. Between its win and its raise, Y tries
	// three times: D and E are free by then, A, B, C are X's.
	occupy(t, key, d, e)
	hookRan := false
	defer lock.SetBeforeRaise(func() {
		if hookRan {
			return
		}
		hookRan = true
		vacate(t, key, d, e)
		for range 3 {
			if _, err := l.Obtain(ctx, key, 10*time.Second); !errors.Is(err, lock.ErrNotObtained) {
				t.Errorf("Y's attempt while X holds a quorum: %v, want ErrNotObtained", err)
			}
		}
		if got := fences(t, key, c); got[3] != 3 || got[4] != 12 {
			t.Errorf("counters after Y's attempts, before X's raise: %v, want D at 3 and E at 12", got)
		}
	})()
	x, err := l.Obtain(ctx, key, 10*time.Second)
	if err != nil {
		t.Fatalf("X: %v", err)
	}
	if !hookRan {
		t.Fatal("the hook between win and raise did not run")
	}
	if x.Token() != 10 {
		t.Fatalf("X's token %d, want C's counter 10", x.Token())
	}
	got := fences(t, key, c)
	for i, v := range got {
		if v < 10 {
			t.Fatalf("counters after X's raise: %v: instance %d is below X's token", got, i)
		}
	}
	if got[4] != 12 {
		t.Fatalf("E's counter %d after X's raise, want Y's 12 kept (a raise never lowers)", got[4])
	}
	for _, cl := range []*redis.Client{d, e} {
		if n, _ := cl.Exists(ctx, "lock:{"+key+"}").Result(); n != 0 {
			t.Fatal("Y's failed attempts left a lock behind")
		}
	}
	if err := x.Release(ctx); err != nil {
		t.Fatal(err)
	}

	// Z's quorum avoids C, where X's token came from.
	occupy(t, key, cc, e)
	z, err := l.Obtain(ctx, key, 10*time.Second)
	if err != nil {
		t.Fatalf("Z: %v", err)
	}
	defer z.Release(ctx)
	if z.Token() <= x.Token() {
		t.Fatalf("Z's token %d after X's %d: fencing tokens went back", z.Token(), x.Token())
	}
}

// restartScenario sets up what the restart tests share: D and E are down
// while three holders and then X take the lock on {A,B,C}, so the
// fencing counters reach X's token (4) on exactly that majority. Then C
// crashes (SIGKILL); D and E come back as they were (empty).
func restartScenario(t *testing.T, o *testserver.RedisOptions, xTTL time.Duration) (s []*testserver.Redis, c []*redis.Client, l *lock.Locker, x *lock.Lock) {
	t.Helper()
	s, c = fiveRedis(t, o)
	l = redlock(t, c...)
	ctx := context.Background()
	s[3].Kill()
	s[4].Kill()
	for range 3 {
		lk, err := l.Obtain(ctx, "restarted", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := lk.Release(ctx); err != nil {
			t.Fatal(err)
		}
	}
	x, err := l.Obtain(ctx, "restarted", xTTL)
	if err != nil {
		t.Fatal(err)
	}
	if x.Token() != 4 {
		t.Fatalf("X's token %d, want 4", x.Token())
	}
	s[2].Kill()
	s[3].Restart(t)
	s[4].Restart(t)
	return s, c, l, x
}

// restart brings a killed instance back and waits until its client has
// dropped the dead connection and answers.
func restart(t *testing.T, s *testserver.Redis, c *redis.Client) {
	t.Helper()
	s.Restart(t)
	waitFor(t, "the restarted instance to answer", func() bool { return c.Ping(context.Background()).Err() == nil })
}

// TestRedlockRestartWithoutPersistence shows what the package doc says
// Redlock does not cover: an instance that restarts without its data.
// Lock keys and fencing counters both live in the masters' memory.
func TestRedlockRestartWithoutPersistence(t *testing.T) {
	ctx := context.Background()

	// Restarted at once, C has forgotten X's lock: Z takes {C,D,E}
	// while X still holds A and B and its Context is live. Mutual
	// exclusion and fencing both break: Z's token is 1, below X's 4.
	t.Run("restarted at once: two holders, token goes back", func(t *testing.T) {
		s, c, l, x := restartScenario(t, nil, time.Minute)
		defer x.Release(ctx)
		restart(t, s[2], c[2])
		z, err := l.Obtain(ctx, "restarted", time.Minute)
		if err != nil {
			t.Fatalf("Z: %v; expected the forgotten lock to be taken twice", err)
		}
		defer z.Release(ctx)
		if x.Context().Err() != nil {
			t.Fatalf("X lost its lock first: %v", context.Cause(x.Context()))
		}
		if z.Token() > x.Token() {
			t.Fatalf("Z's token %d above X's %d: the counters survived after all?", z.Token(), x.Token())
		}
		t.Logf("while X (token %d) holds the lock, Z took it with token %d", x.Token(), z.Token())
	})

	// Kept down until X's lock has expired everywhere (the usual advice),
	// C cannot cause two holders. But its counter is gone, and the
	// counters at 4 are now only on A and B, a minority: Z, reaching only
	// C, D and E (A and B partitioned from it), gets token 1 after X's 4.
	t.Run("kept down past the ttl: one holder, token still goes back", func(t *testing.T) {
		s, c, _, x := restartScenario(t, nil, time.Second)
		<-x.Context().Done()
		waitFor(t, "X's lock to expire on A and B", func() bool {
			n, _ := c[0].Exists(ctx, "lock:{restarted}").Result()
			m, _ := c[1].Exists(ctx, "lock:{restarted}").Result()
			return n+m == 0
		})
		restart(t, s[2], c[2])
		partitioned := redlock(t, quickClient(t, "127.0.0.1:1"), quickClient(t, "127.0.0.1:1"), c[2], c[3], c[4])
		z, err := partitioned.Obtain(ctx, "restarted", time.Minute)
		if err != nil {
			t.Fatalf("Z on C, D, E: %v", err)
		}
		defer z.Release(ctx)
		if z.Token() > x.Token() {
			t.Fatalf("Z's token %d above X's %d", z.Token(), x.Token())
		}
		t.Logf("after X (token %d) expired, Z took the lock with token %d", x.Token(), z.Token())
	})

	// With appendonly yes and appendfsync always, C comes back with X's
	// lock (its absolute expiry is in the AOF) and with its counter: Z
	// is refused while X holds the lock, even reaching only C, D, E, and
	// after X's Release gets a token above X's.
	t.Run("AOF with fsync always: nothing breaks", func(t *testing.T) {
		s, c, l, x := restartScenario(t, &testserver.RedisOptions{AppendOnly: true, FsyncAlways: true}, time.Minute)
		restart(t, s[2], c[2])
		partitioned := redlock(t, quickClient(t, "127.0.0.1:1"), quickClient(t, "127.0.0.1:1"), c[2], c[3], c[4])
		for name, lz := range map[string]*lock.Locker{"all five": l, "C, D, E": partitioned} {
			if _, err := lz.Obtain(ctx, "restarted", time.Minute); !errors.Is(err, lock.ErrNotObtained) {
				t.Fatalf("Z reaching %s while X holds the lock: %v, want ErrNotObtained", name, err)
			}
		}
		if err := x.Release(ctx); err != nil {
			t.Fatal(err)
		}
		z, err := partitioned.Obtain(ctx, "restarted", time.Minute)
		if err != nil {
			t.Fatalf("Z after X's Release: %v", err)
		}
		defer z.Release(ctx)
		if z.Token() <= x.Token() {
			t.Fatalf("Z's token %d after X's %d", z.Token(), x.Token())
		}
	})
}
