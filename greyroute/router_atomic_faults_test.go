package greyroute_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// pickCall picks the EVALSHA/EVAL of an Atomic-mode Pick of service "s"
// (its keys include the route; a flush's do not).
var pickCall = testserver.ScriptCall("{s}:route\r\n")

// doneCall picks the script call of an Atomic-mode flush of service "s".
func doneCall(cmd []byte) bool {
	return testserver.ScriptCall("{s}:shares")(cmd) && !bytes.Contains(cmd, []byte("{s}:route\r\n"))
}

// connsOf returns the shared connection totals of service "s".
func connsOf(t *testing.T, c redis.UniversalClient) map[string]string {
	t.Helper()
	m, err := c.HGetAll(context.Background(), "greyroute:{s}:conns").Result()
	must(t, err)
	return m
}

// flushedAfter waits for a flush that ends after now (count is the
// "flushed" count read before) and cond.
func flushedAfter(t *testing.T, l *loads, desc string, count int, cond func() bool) {
	t.Helper()
	l.until(t, desc, func(_ map[string]int64, n map[string]int) bool { return n["flushed"] > count && cond() })
}

func waitDropped(t *testing.T, dropped <-chan struct{}) {
	t.Helper()
	select {
	case <-dropped:
	case <-time.After(patience):
		t.Fatal("the proxy lost no reply")
	}
}

func flushes(l *loads) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.count["flushed"]
}

// proxied is an Atomic-mode Router whose link to the server at addr goes
// through a RedisProxy, go-redis retrying retries times (-1: none).
func proxied(t *testing.T, addr string, retries int, clk *clock) (*greyroute.Router, *testserver.RedisProxy, *loads) {
	t.Helper()
	p := testserver.NewRedisProxy(t, addr)
	l := newLoads()
	opts := []greyroute.Option{greyroute.WithAtomic(), greyroute.WithLoadHook(l.hook), greyroute.WithBalancer("s", greyroute.RoundRobin())}
	if clk != nil {
		opts = append(opts, greyroute.WithClock(clk.Now))
	}
	r, err := greyroute.NewRouter(standalone(t, p.Addr(), &redis.Options{MaxRetries: retries}), opts...)
	must(t, err)
	t.Cleanup(func() { r.Close() })
	return r, p, l
}

// TestAtomicLostPickReply: a Pick's script ran but its reply was lost —
// go-redis ran it again (the first counted a call no Done will end), or
// the caller got an error — and the count it left is cleared: by the
// next tick's full flush, or by the flush the error itself asks for.
func TestAtomicLostPickReply(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	c := standalone(t, srv.Addr, nil)
	a := newAdmin(t, c, nil)
	register(t, a, "s", "v1", "i1", "i2")
	must(t, a.SetStable(ctx, "s", "v1"))

	t.Run("go-redis retries", func(t *testing.T) {
		r, p, l := proxied(t, srv.Addr, 2, nil)
		dropped := p.DropReply(testserver.Drop{Command: pickCall})
		inst, err := r.Pick(ctx, "t", "s")
		must(t, err)
		waitDropped(t, dropped)
		if m := connsOf(t, c); len(m) != 2 {
			t.Fatalf("counts %v: want the lost Pick's and the retry's", m)
		}
		n := flushes(l)
		r.Done(inst, nil, 0)
		flushedAfter(t, l, "the Done told", n, func() bool { return connsOf(t, c)[inst.ID] == "" })
		n = flushes(l)
		greyroute.AtomicTick(r)
		flushedAfter(t, l, "the lost Pick's count cleared", n, func() bool { return len(connsOf(t, c)) == 0 })
	})
	t.Run("caller sees the error", func(t *testing.T) {
		r, p, l := proxied(t, srv.Addr, -1, nil)
		n := flushes(l)
		dropped := p.DropReply(testserver.Drop{Command: pickCall})
		if _, err := r.Pick(ctx, "t", "s"); !errors.Is(err, greyroute.ErrUnavailable) {
			t.Fatalf("pick with its reply lost: %v, want ErrUnavailable", err)
		}
		waitDropped(t, dropped)
		flushedAfter(t, l, "the lost Pick's count cleared", n, func() bool { return len(connsOf(t, c)) == 0 })
	})
}

// TestAtomicLostDoneReply: a flush's reply is lost and go-redis runs it
// again: the other call in progress on the instance stays counted (a
// decrement run twice would have taken it too).
func TestAtomicLostDoneReply(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	c := standalone(t, srv.Addr, nil)
	a := newAdmin(t, c, nil)
	register(t, a, "s", "v1", "i1")
	must(t, a.SetStable(ctx, "s", "v1"))
	r, p, l := proxied(t, srv.Addr, 2, nil)
	x, err := r.Pick(ctx, "t", "s")
	must(t, err)
	y, err := r.Pick(ctx, "t", "s")
	must(t, err)
	n := flushes(l)
	dropped := p.DropReply(testserver.Drop{Command: doneCall})
	r.Done(x, nil, 0)
	waitDropped(t, dropped)
	flushedAfter(t, l, "the Done told", n, func() bool { return true })
	if m := connsOf(t, c); m["i1"] != "1" {
		t.Fatalf("counts %v after one of two calls ended, its flush run twice: want i1 1", m)
	}
	n = flushes(l)
	r.Done(y, nil, 0)
	flushedAfter(t, l, "the last Done told", n, func() bool { return len(connsOf(t, c)) == 0 })
}

// TestAtomicReapedAlive: a Router cut off for longer than its lease has
// its share taken back by another Router's Pick; its calls were still in
// progress, and its next flush counts them again instead of leaving the
// total short until they end.
func TestAtomicReapedAlive(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	c := newRedis(t)
	clk := newClock()
	a := newAdmin(t, c, clk)
	register(t, a, "s", "v1", "i1")
	must(t, a.SetStable(ctx, "s", "v1"))
	l := newLoads()
	opts := []greyroute.Option{greyroute.WithClock(clk.Now), greyroute.WithBalancer("s", greyroute.LeastConnections())}
	r1, _ := atomicRouter(t, c, l, opts...)
	r2, _ := atomicRouter(t, c, l, opts...)
	var held []greyroute.Instance
	for range 3 {
		inst, err := r1.Pick(ctx, "t", "s")
		must(t, err)
		held = append(held, inst)
	}
	clk.Advance(time.Minute) // r1's lease lapses
	z, err := r2.Pick(ctx, "t", "s")
	must(t, err)
	if m := connsOf(t, c); m["i1"] != "1" {
		t.Fatalf("after r1's share was reaped: %v, want r2's 1", m)
	}
	n := flushes(l)
	r1.Done(held[0], nil, 0)
	flushedAfter(t, l, "r1's Done told", n, func() bool { return connsOf(t, c)["i1"] == "3" })
	r1.Done(held[1], nil, 0)
	r1.Done(held[2], nil, 0)
	r2.Done(z, nil, 0)
	flushedAfter(t, l, "every Done told", n, func() bool { return len(connsOf(t, c)) == 0 })
}

// TestAtomicHostileData: what no Admin writes neither fails Picks nor is
// picked: an entry whose meta the Router cannot read (not an object; an
// array, which the script cannot tell from an empty object), and
// counters that are not numbers.
func TestAtomicHostileData(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	c := newRedis(t)
	a := newAdmin(t, c, nil)
	register(t, a, "s", "v1", "good")
	must(t, a.SetStable(ctx, "s", "v1"))
	exp := float64(time.Now().Add(time.Hour).UnixMilli())
	for id, raw := range map[string]string{
		"meta-number": `{"addr":"b:1","version":"v1","weight":1,"meta":5}`,
		"meta-array":  `{"addr":"b:2","version":"v1","weight":1,"meta":[]}`,
	} {
		must(t, c.HSet(ctx, "greyroute:{s}:instances", id, raw).Err())
		must(t, c.ZAdd(ctx, "greyroute:{s}:expiry", redis.Z{Score: exp, Member: id}).Err())
	}
	must(t, c.HSet(ctx, "greyroute:{s}:lb", "rr\nv1", "junk", "lc\nv1", "1e999").Err())
	must(t, c.HSet(ctx, "greyroute:{s}:conns", "good", "junk").Err())
	must(t, c.HSet(ctx, "greyroute:{s}:pins", "blank", "").Err())
	for name, bal := range map[string]greyroute.Balancer{"rr": greyroute.RoundRobin(), "leastconn": greyroute.LeastConnections(),
		"swrr": greyroute.SmoothWeightedRoundRobin()} {
		t.Run(name, func(t *testing.T) {
			l := newLoads()
			r, _ := atomicRouter(t, c, l, greyroute.WithBalancer("s", bal))
			for range 9 {
				inst, err := r.Pick(ctx, "t", "s")
				if err != nil || inst.ID != "good" {
					t.Fatalf("pick: %+v, %v; want good", inst, err)
				}
				r.Done(inst, nil, 0)
			}
			// A pin to "" (no Admin writes one) finds no instance, and
			// leaves the index as it was.
			n := c.ZCard(ctx, "greyroute:{s}:index").Val()
			if _, err := r.Pick(ctx, "blank", "s"); !errors.Is(err, greyroute.ErrNoInstance) {
				t.Fatalf("pinned to the empty version: %v, want ErrNoInstance", err)
			}
			if m := c.ZCard(ctx, "greyroute:{s}:index").Val(); m != n {
				t.Fatalf("index went from %d to %d members", n, m)
			}
		})
	}
}

// TestAtomicTickScansOnlyWhenOff: a tick's full flush reads every
// Router's shares only when the Router's sum in Redis differs from the
// calls it holds (a lost Pick), not on every tick.
func TestAtomicTickScansOnlyWhenOff(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	c := newRedis(t)
	a := newAdmin(t, c, nil)
	register(t, a, "s", "v1", "i1", "i2")
	must(t, a.SetStable(ctx, "s", "v1"))
	l := newLoads()
	r, _ := atomicRouter(t, c, l, greyroute.WithBalancer("s", greyroute.RoundRobin()))
	inst, err := r.Pick(ctx, "t", "s")
	must(t, err)
	hgetalls := func() string {
		info, err := c.Info(ctx, "commandstats").Result()
		must(t, err)
		for _, line := range strings.Split(info, "\n") {
			if strings.HasPrefix(line, "cmdstat_hgetall:") {
				calls, _, _ := strings.Cut(strings.TrimPrefix(line, "cmdstat_hgetall:"), ",")
				return calls
			}
		}
		return "none"
	}
	must(t, c.ConfigResetStat(ctx).Err())
	n := flushes(l)
	greyroute.AtomicTick(r)
	flushedAfter(t, l, "the tick's flush", n, func() bool { return true })
	if h := hgetalls(); h != "none" {
		t.Fatalf("a tick with the sum right scanned the shares: HGETALL %s", h)
	}
	// A Pick counted behind the Router's back (as a lost reply leaves).
	must(t, c.HIncrBy(ctx, "greyroute:{s}:conns", "i2", 1).Err())
	shares := c.HGetAll(ctx, "greyroute:{s}:shares").Val()
	for f := range shares {
		if strings.HasSuffix(f, "\n") {
			must(t, c.HIncrBy(ctx, "greyroute:{s}:shares", f, 1).Err())
			must(t, c.HIncrBy(ctx, "greyroute:{s}:shares", f+"i2", 1).Err())
		}
	}
	must(t, c.ConfigResetStat(ctx).Err())
	n = flushes(l)
	greyroute.AtomicTick(r)
	flushedAfter(t, l, "the lost Pick cleared", n, func() bool {
		return errors.Is(c.HGet(ctx, "greyroute:{s}:conns", "i2").Err(), redis.Nil)
	})
	if h := hgetalls(); h != "calls=1" {
		t.Fatalf("a tick with the sum off: HGETALL %s, want one scan", h)
	}
	r.Done(inst, nil, 0)
}
