package privilege_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/privilege"
)

// silentWatchStore is a MemoryStore that claims to be a Watcher but never
// announces anything: every notification is lost.
type silentWatchStore struct{ *privilege.MemoryStore }

func (silentWatchStore) Watch(ctx context.Context, _ func(uint64)) error {
	<-ctx.Done()
	return nil
}

func newRedisClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	// ContextTimeoutEnabled: go-redis honours the engine's per-call bound
	// only with it; its own read timeout is an hour here, so only that
	// bound can end a call to a paused server.
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, ReadTimeout: time.Hour, WriteTimeout: time.Hour})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// metrics returns a meter provider and its reader, shut down when t ends.
func metrics(t testing.TB) (*sdkmetric.MeterProvider, *sdkmetric.ManualReader) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(bg) })
	return mp, reader
}

// totals sums the engine's counters: privilege.checks by
// "decision/source", the others by name.
func totals(t testing.TB, reader *sdkmetric.ManualReader) map[string]int64 {
	return otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
		if p.Metric == "privilege.checks" {
			return p.Attr("decision") + "/" + p.Attr("source")
		}
		return p.Metric
	})
}

// TestStalenessBound: with a Watcher store that loses every notification,
// a revoke is not seen while the known version is younger than the bound
// (the L1 permit is served), and is seen by the first check past it,
// which reads the store's version again — one read per bound, not per
// check.
func TestStalenessBound(t *testing.T) {
	s := annDeveloper(t)
	clock := &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	mp, reader := metrics(t)
	e := newEngine(t, silentWatchStore{s}, append(clock.opts(), privilege.WithMaxStaleness(time.Second), privilege.WithMeterProvider(mp))...)
	r := req("ann", "code/x", "push")
	for range 3 {
		if d := check(t, e, r); !d.Allowed {
			t.Fatalf("before revoke: %+v", d)
		}
	}
	must(t, s.Revoke(bg, "ann", "developer"))
	clock.Add(999 * time.Millisecond)
	if d := check(t, e, r); !d.Allowed {
		t.Fatalf("within the bound, the known version is used: %+v", d)
	}
	clock.Add(time.Millisecond)
	if d := check(t, e, r); d.Allowed {
		t.Fatalf("past the bound, the revoke must be seen: %+v", d)
	}
	if got := totals(t, reader)["privilege.version.reads"]; got != 2 {
		t.Fatalf("version reads %d, want 2 (one per bound)", got)
	}
}

// TestL2KeyUnambiguous: fields are length-prefixed before hashing.
func TestL2KeyUnambiguous(t *testing.T) {
	a := privilege.L2Key("p:", 1, "a", "bc", "d")
	if b := privilege.L2Key("p:", 1, "ab", "c", "d"); a == b {
		t.Fatalf("two requests, one key %q", a)
	}
	if !strings.HasPrefix(a, "p:1:") {
		t.Fatalf("key %q", a)
	}
}

// TestL2Shared: a decision one engine computed is served to another from
// Redis (then from its L1), counted by source; a write makes it
// unreachable; a grant expiry bounds its TTL.
func TestL2Shared(t *testing.T) {
	rd := testserver.StartRedis(t, nil)
	rdb := newRedisClient(t, rd.Addr)
	s := privilege.NewMemoryStore()
	defer s.Close()
	seed(t, s)
	clock := &fakeClock{now: time.Now()}
	must(t, s.Grant(bg, "ann", "developer", clock.Now().Add(time.Minute)))
	mp1, _ := metrics(t)
	mp2, reader := metrics(t)
	e1 := newEngine(t, s, append(clock.opts(), privilege.WithRedis(rdb), privilege.WithMeterProvider(mp1))...)
	e2 := newEngine(t, s, append(clock.opts(), privilege.WithRedis(rdb), privilege.WithMeterProvider(mp2))...)
	r := req("ann", "code/x", "push")
	d1 := check(t, e1, r)
	d2 := check(t, e2, r)
	if !d2.Allowed || d2 != d1 {
		t.Fatalf("from L2: %+v, computed: %+v", d2, d1)
	}
	check(t, e2, r)
	v, _ := s.Version(bg)
	ttl := rdb.PTTL(bg, privilege.EngineL2Key(e2, v, "ann", "code/x", "push")).Val()
	if ttl <= 0 || ttl > time.Minute {
		t.Fatalf("L2 TTL %v, want at most the grant's minute", ttl)
	}
	must(t, s.Revoke(bg, "ann", "developer"))
	if d := check(t, e2, r); d.Allowed {
		t.Fatalf("after revoke: %+v", d)
	}
	want := map[string]int64{"allow/l2": 1, "allow/l1": 1, "allow/computed": 0, "deny/computed": 1, "privilege.l2.errors": 0}
	got := totals(t, reader)
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
}

// pgInstances makes n stores, each on a pool of its own to one fresh
// database in the cluster at url (as n processes would), and an engine on
// each with the options opts(i, store) gives.
func pgInstances(t *testing.T, url string, n int, opts func(i int, s *privilege.PostgresStore) []privilege.Option) ([]*privilege.PostgresStore, []*privilege.Engine, *pgxpool.Pool) {
	t.Helper()
	cfg := testserver.PostgresDatabase(t, url, "gw_privilege")
	var stores []*privilege.PostgresStore
	var engines []*privilege.Engine
	var first *pgxpool.Pool
	for i := range n {
		pool, err := pgxpool.NewWithConfig(bg, cfg.Copy())
		must(t, err)
		t.Cleanup(pool.Close)
		if first == nil {
			first = pool
		}
		s, err := privilege.NewPostgresStore(bg, pool)
		must(t, err)
		t.Cleanup(func() { _ = s.Close() })
		stores = append(stores, s)
		engines = append(engines, newEngine(t, s, opts(i, s)...))
	}
	return stores, engines, first
}

// events collects a store's watch events, for tests that wait on them.
type events chan string

func (ev events) wait(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case got := <-ev:
			if got == want {
				return
			}
		case <-deadline:
			t.Fatalf("gave up after 30s waiting for watch event %q", want)
		}
	}
}

func (ev events) hook(block string) func(ctx context.Context, event string) {
	return func(ctx context.Context, event string) {
		select {
		case ev <- event:
		default:
		}
		if event == block {
			<-ctx.Done()
		}
	}
}

// TestRevocationPropagates: three instances (three pools on one database)
// all allow a grant, from their caches; a revoke through instance 1 is
// denied by 2 and 3 once they have learnt its version: through LISTEN,
// or, with LISTEN stalled, through Redis. The bound is an hour here, so
// only the notifications can have told them.
func TestRevocationPropagates(t *testing.T) {
	url := sharedPostgres.Get(t)
	rd := testserver.StartRedis(t, nil)
	for _, mode := range []string{"listen", "redis"} {
		t.Run(mode, func(t *testing.T) {
			prefix := "privilege:" + mode + ":"
			var evs [3]events
			var subscribed atomic.Int64
			stores, engines, _ := pgInstances(t, url, 3, func(i int, s *privilege.PostgresStore) []privilege.Option {
				evs[i] = make(events, 16)
				opts := []privilege.Option{privilege.WithMaxStaleness(time.Hour)}
				if mode == "redis" {
					if i > 0 { // notifications reach 2 and 3 only through Redis
						privilege.SetPGWatchHook(s, evs[i].hook("listening"))
					} else {
						privilege.SetPGWatchHook(s, evs[i].hook(""))
					}
					opts = append(opts, privilege.WithRedis(newRedisClient(t, rd.Addr)), privilege.WithRedisPrefix(prefix),
						privilege.WithOnSubscribed(func() { subscribed.Add(1) }))
				} else {
					privilege.SetPGWatchHook(s, evs[i].hook(""))
				}
				return opts
			})
			for i := range 3 {
				evs[i].wait(t, "listening")
			}
			if mode == "redis" {
				testserver.WaitFor(t, 30*time.Second, "3 subscriptions", func() bool { return subscribed.Load() >= 3 })
			}
			must(t, stores[0].PutRole(bg, privilege.Role{ID: "dev", Active: true}))
			must(t, stores[0].PutPermission(bg, "dev", privilege.Permission{Resource: "code/*", Action: "push"}))
			must(t, stores[0].Grant(bg, "ann", "dev", time.Time{}))
			r := req("ann", "code/x", "push")
			for _, e := range engines {
				for range 2 {
					if d := check(t, e, r); !d.Allowed {
						t.Fatalf("granted: %+v", d)
					}
				}
			}
			must(t, stores[0].Revoke(bg, "ann", "dev"))
			v := version(t, stores[0])
			if d := check(t, engines[0], r); d.Allowed {
				t.Fatalf("instance 1, read-your-writes: %+v", d)
			}
			for i, e := range engines[1:] {
				// Through LISTEN the version is learnt; through Redis it is
				// only news that makes the next check read the store's.
				testserver.WaitFor(t, 30*time.Second, "the revoke's version", func() bool {
					d, err := e.Check(bg, r)
					return err == nil && d.Version >= v
				})
				if d := check(t, e, r); d.Allowed || d.Version < v {
					t.Fatalf("instance %d after the revoke: %+v", i+2, d)
				}
			}
		})
	}
}

// TestNotificationsLost: LISTEN connections terminated (and not
// reconnected) and Redis killed, a revoke through instance 1 reaches 2
// and 3 by the bound alone: the first check past it reads the version.
func TestNotificationsLost(t *testing.T) {
	url := sharedPostgres.Get(t)
	rd := testserver.StartRedis(t, nil)
	clock := &fakeClock{now: time.Now()}
	var evs [3]events
	stores, engines, pool := pgInstances(t, url, 3, func(i int, s *privilege.PostgresStore) []privilege.Option {
		evs[i] = make(events, 16)
		privilege.SetPGWatchHook(s, evs[i].hook("lost"))
		return append(clock.opts(), privilege.WithMaxStaleness(time.Second), privilege.WithRedis(newRedisClient(t, rd.Addr)))
	})
	for i := range 3 {
		evs[i].wait(t, "listening")
	}
	must(t, stores[0].PutRole(bg, privilege.Role{ID: "dev", Active: true}))
	must(t, stores[0].PutPermission(bg, "dev", privilege.Permission{Resource: "code/*", Action: "push"}))
	must(t, stores[0].Grant(bg, "ann", "dev", time.Time{}))
	r := req("ann", "code/x", "push")
	for _, e := range engines {
		if d := check(t, e, r); !d.Allowed {
			t.Fatalf("granted: %+v", d)
		}
	}
	rd.Kill()
	_, err := pool.Exec(bg, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
  WHERE application_name = 'privilege_watch' AND datname = current_database()`)
	must(t, err)
	for i := range 3 {
		evs[i].wait(t, "lost")
	}
	must(t, stores[0].Revoke(bg, "ann", "dev"))
	for i, e := range engines[1:] {
		if d := check(t, e, r); !d.Allowed {
			t.Fatalf("instance %d within the bound: the known version is used, the permit served: %+v", i+2, d)
		}
	}
	clock.Add(time.Second)
	for i, e := range engines {
		if d := check(t, e, r); d.Allowed {
			t.Fatalf("instance %d past the bound: %+v", i+1, d)
		}
	}
}

// TestRedisKilled: with Redis gone, checks are decided from PostgreSQL,
// a revoke is denied, Redis errors are counted; after a restart L2
// serves again.
func TestRedisKilled(t *testing.T) {
	url := sharedPostgres.Get(t)
	rd := testserver.StartRedis(t, nil)
	rdb := newRedisClient(t, rd.Addr)
	mp, reader := metrics(t)
	stores, engines, _ := pgInstances(t, url, 2, func(i int, s *privilege.PostgresStore) []privilege.Option {
		opts := []privilege.Option{privilege.WithRedis(newRedisClient(t, rd.Addr))}
		if i == 0 { // every check computes, so every check fills L2
			opts = append(opts, privilege.WithL1(0, 0))
		} else {
			opts = append(opts, privilege.WithMeterProvider(mp))
		}
		return opts
	})
	s, e1, e2 := stores[0], engines[0], engines[1]
	must(t, s.PutRole(bg, privilege.Role{ID: "dev", Active: true}))
	must(t, s.PutPermission(bg, "dev", privilege.Permission{Resource: "code/*", Action: "push"}))
	must(t, s.Grant(bg, "ann", "dev", time.Time{}))
	r := req("ann", "code/x", "push")
	v := version(t, s)
	testserver.WaitFor(t, 30*time.Second, "instance 2 at the grant", func() bool { return privilege.KnownVersion(e2) >= v })
	check(t, e1, r)
	if d := check(t, e2, r); !d.Allowed {
		t.Fatalf("granted: %+v", d)
	}
	if got := totals(t, reader)["allow/l2"]; got != 1 {
		t.Fatalf("instance 2 from L2: %d", got)
	}

	rd.Kill()
	must(t, s.Revoke(bg, "ann", "dev"))
	v = version(t, s)
	testserver.WaitFor(t, 30*time.Second, "instance 2 at the revoke", func() bool { return privilege.KnownVersion(e2) >= v })
	for i, e := range engines {
		if d, err := e.Check(bg, r); err != nil || d.Allowed {
			t.Fatalf("instance %d, Redis down, after revoke: %+v %v", i+1, d, err)
		}
	}
	must(t, s.Grant(bg, "ann", "dev", time.Time{}))
	v = version(t, s)
	testserver.WaitFor(t, 30*time.Second, "instance 2 at the new grant", func() bool { return privilege.KnownVersion(e2) >= v })
	if d, err := e2.Check(bg, r); err != nil || !d.Allowed {
		t.Fatalf("Redis down, granted again: %+v %v", d, err)
	}
	if got := totals(t, reader)["privilege.l2.errors"]; got == 0 {
		t.Fatal("Redis errors not counted")
	}

	rd.Restart(t)
	testserver.WaitFor(t, 30*time.Second, "Redis back", func() bool { return rdb.Ping(bg).Err() == nil })
	must(t, s.PutPermission(bg, "dev", privilege.Permission{Resource: "wiki/*", Action: "read"}))
	v = version(t, s)
	testserver.WaitFor(t, 30*time.Second, "instance 2 at the new permission", func() bool { return privilege.KnownVersion(e2) >= v })
	key := privilege.EngineL2Key(e1, v, "ann", "code/x", "push")
	testserver.WaitFor(t, 30*time.Second, "instance 1 to fill L2", func() bool {
		check(t, e1, r)
		return rdb.Exists(bg, key).Val() == 1
	})
	before := totals(t, reader)["allow/l2"]
	if d := check(t, e2, r); !d.Allowed || totals(t, reader)["allow/l2"] != before+1 {
		t.Fatalf("after restart, from L2: %+v (%v)", d, totals(t, reader))
	}
}

// TestPostgresKilled: with PostgreSQL gone, cached permits are served no
// longer than the bound; then checks fail closed with a reason, or, with
// WithFailOpen, get the last decision if it is within the window.
func TestPostgresKilled(t *testing.T) {
	pg := testserver.StartPostgres(t)
	rd := testserver.StartRedis(t, nil)
	clock := &fakeClock{now: time.Now()}
	mp, reader := metrics(t)
	warns := &countingHandler{}
	stores, engines, _ := pgInstances(t, pg.URL, 2, func(i int, s *privilege.PostgresStore) []privilege.Option {
		opts := append(clock.opts(), privilege.WithMaxStaleness(time.Second), privilege.WithRedis(newRedisClient(t, rd.Addr)))
		if i == 1 {
			opts = append(opts, privilege.WithFailOpen(time.Minute), privilege.WithMeterProvider(mp), privilege.WithLogger(slog.New(warns)))
		}
		return opts
	})
	closed, open := engines[0], engines[1]
	s := stores[0]
	must(t, s.PutRole(bg, privilege.Role{ID: "dev", Active: true}))
	must(t, s.PutPermission(bg, "dev", privilege.Permission{Resource: "code/*", Action: "push"}))
	must(t, s.Grant(bg, "ann", "dev", time.Time{}))
	old, recent, never := req("ann", "code/old", "push"), req("ann", "code/x", "push"), req("ann", "code/y", "push")
	if d := check(t, open, old); !d.Allowed {
		t.Fatalf("old: %+v", d)
	}
	clock.Add(90 * time.Second)
	for _, e := range engines {
		if d := check(t, e, recent); !d.Allowed {
			t.Fatalf("recent: %+v", d)
		}
	}

	pg.Kill()
	defer pg.Restart(t) // so the database can be dropped
	if d := check(t, closed, recent); !d.Allowed {
		t.Fatalf("within the bound, from L1: %+v", d)
	}
	clock.Add(time.Second)
	d, err := closed.Check(bg, recent)
	if err == nil || d.Allowed || d.Reason != "store unavailable" {
		t.Fatalf("fail closed past the bound: %+v %v", d, err)
	}
	d, err = open.Check(bg, recent)
	if err != nil || !d.Allowed || !strings.Contains(d.Reason, "fail-open") || !strings.Contains(d.Reason, `role "dev"`) {
		t.Fatalf("fail open within the window: %+v %v", d, err)
	}
	if d, err := open.Check(bg, recent); err != nil || !d.Allowed {
		t.Fatalf("fail open again: %+v %v", d, err)
	}
	if n := warns.n.Load(); n != 1 {
		t.Fatalf("%d warnings for one outage, want 1", n)
	}
	for _, r := range []privilege.Request{old, never} {
		if d, err := open.Check(bg, r); err == nil || d.Allowed {
			t.Fatalf("fail open outside the window or never decided: %+v %v", d, err)
		}
	}
	if got := totals(t, reader); got["privilege.failopen"] != 2 || got["allow/failopen"] != 2 {
		t.Fatalf("metrics %v", got)
	}
}

// gatedVersionStore is a silent Watcher whose Version waits for release
// (or its caller's context), counting the calls.
type gatedVersionStore struct {
	silentWatchStore
	calls   atomic.Int32
	release chan struct{}
}

func (s *gatedVersionStore) Version(ctx context.Context) (uint64, error) {
	s.calls.Add(1)
	select {
	case <-s.release:
		return s.MemoryStore.Version(ctx)
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// TestVersionReadLeaderCancelled: checks waiting for one read of the
// version share it; when the caller that led the read gives up, the others
// read again instead of failing for it.
func TestVersionReadLeaderCancelled(t *testing.T) {
	ms := privilege.NewMemoryStore()
	defer ms.Close()
	seed(t, ms)
	must(t, ms.Grant(bg, "ann", "developer", time.Time{}))
	s := &gatedVersionStore{silentWatchStore: silentWatchStore{ms}, release: make(chan struct{})}
	e := newEngine(t, s)
	r := req("ann", "code/x", "push")
	lctx, cancel := context.WithCancel(bg)
	leader := make(chan error, 1)
	go func() { _, err := e.Check(lctx, r); leader <- err }()
	testserver.WaitFor(t, 30*time.Second, "the leader's read", func() bool { return s.calls.Load() == 1 })
	follower := make(chan privilege.Decision, 1)
	go func() { d, _ := e.Check(bg, r); follower <- d }()
	// Counted just before it joins the leader's read (singleflight has no
	// hook); the leader's read cannot end before the cancel below.
	testserver.WaitFor(t, 30*time.Second, "the follower to join", func() bool { return privilege.VersionWaiters(e) == 2 })
	cancel()
	if err := <-leader; err == nil {
		t.Fatal("the cancelled leader decided")
	}
	testserver.WaitFor(t, 30*time.Second, "the follower's own read or answer", func() bool { return s.calls.Load() == 2 || len(follower) == 1 })
	close(s.release)
	if d := <-follower; !d.Allowed {
		t.Fatalf("the follower failed for the leader's cancellation: %+v", d)
	}
}

// TestRedisPaused: a Redis that answers nothing (SIGSTOP) delays a check
// by the per-call bound only; the check is decided from the store and the
// Redis errors are counted.
func TestRedisPaused(t *testing.T) {
	rd := testserver.StartRedis(t, nil)
	s := annDeveloper(t)
	mp, reader := metrics(t)
	e := newEngine(t, s, privilege.WithRedis(newRedisClient(t, rd.Addr)), privilege.WithMeterProvider(mp))
	check(t, e, req("ann", "wiki/x", "read")) // connects
	rd.Pause()
	defer rd.Resume()
	done := make(chan privilege.Decision, 1)
	go func() { d, _ := e.Check(bg, req("ann", "code/x", "push")); done <- d }()
	select {
	case d := <-done:
		if !d.Allowed {
			t.Fatalf("decided from the store: %+v", d)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a paused Redis stalled the check")
	}
	if got := totals(t, reader); got["privilege.l2.errors"] != 2 || got["allow/computed"] != 2 {
		t.Fatalf("metrics %v, want the GET and the SET failed", got)
	}
}

// TestL2Cluster: L2 on a Redis Cluster (one key per call).
func TestL2Cluster(t *testing.T) {
	rc := testserver.StartRedisCluster(t)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs})
	t.Cleanup(func() { _ = rdb.Close() })
	s := annDeveloper(t)
	mp, reader := metrics(t)
	e1 := newEngine(t, s, privilege.WithRedis(rdb))
	e2 := newEngine(t, s, privilege.WithRedis(rdb), privilege.WithMeterProvider(mp))
	for _, r := range []privilege.Request{req("ann", "code/x", "push"), req("ann", "wiki/y", "read"), req("bob", "code/x", "push")} {
		d1 := check(t, e1, r)
		if d2 := check(t, e2, r); d2 != d1 {
			t.Fatalf("%+v from L2, %+v computed", d2, d1)
		}
	}
	if got := totals(t, reader); got["allow/l2"] != 2 || got["deny/l2"] != 1 || got["privilege.l2.errors"] != 0 {
		t.Fatalf("metrics %v", got)
	}
}

// TestL1ManyRequests: more distinct requests than the L1 holds, checked
// over and over from several goroutines: the cache grows, evicts, and
// every answer is still the right one (a hit is only ever its own key's).
func TestL1ManyRequests(t *testing.T) {
	s := annDeveloper(t)
	mp, reader := metrics(t)
	e := newEngine(t, s, privilege.WithL1(256, time.Hour), privilege.WithMeterProvider(mp))
	done := make(chan error, 4)
	for w := range 4 {
		go func() {
			for round := range 3 {
				for i := range 1000 {
					res, act := "code/"+strconv.Itoa(i), "push"
					if (i+w+round)%2 == 0 {
						act = "delete"
					}
					d, err := e.Check(bg, req("ann", res, act))
					if err != nil || d.Allowed != (act == "push") {
						done <- fmt.Errorf("%s %s: %+v %v", res, act, d, err)
						return
					}
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if got := totals(t, reader); got["allow/l1"]+got["deny/l1"] == 0 {
		t.Fatalf("no L1 hits: %v", got)
	}
}

// TestL1Grows: the L1 starts small and grows to hold what is asked of it.
func TestL1Grows(t *testing.T) {
	s := annDeveloper(t)
	mp, reader := metrics(t)
	e := newEngine(t, s, privilege.WithL1(4096, time.Hour), privilege.WithMeterProvider(mp))
	for range 2 {
		for i := range 1000 {
			check(t, e, req("ann", "code/"+strconv.Itoa(i), "push"))
		}
	}
	if got := totals(t, reader)["allow/l1"]; got < 950 {
		t.Fatalf("%d of 1,000 repeated checks from L1", got)
	}
}

// countingHandler counts the warnings logged to it.
type countingHandler struct{ n atomic.Int64 }

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn {
		h.n.Add(1)
	}
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }
