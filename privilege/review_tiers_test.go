package privilege_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/privilege"
)

// forged is a version no store in these tests reaches.
const forged = 1_000_000_000

// TestReviewForgedNotifyCannotPin: any role that can connect to the
// database may NOTIFY privilege_changed with any payload. A version the
// store never reached, taken as known, pinned the engine: every real
// write below it was ignored (raise refuses a lower version), reads of
// the store confirmed nothing newer, and a permit cached under the forged
// version was served after a revoke, past the bound, for ever.
func TestReviewForgedNotifyCannotPin(t *testing.T) {
	url := sharedPostgres.Get(t)
	clock := &fakeClock{now: time.Now()}
	var ev events = make(events, 16)
	stores, engines, pool := pgInstances(t, url, 2, func(i int, s *privilege.PostgresStore) []privilege.Option {
		if i == 0 {
			privilege.SetPGWatchHook(s, ev.hook(""))
		}
		return append(clock.opts(), privilege.WithMaxStaleness(time.Second))
	})
	e, writer := engines[0], stores[1]
	ev.wait(t, "listening")
	must(t, writer.PutRole(bg, privilege.Role{ID: "dev", Active: true}))
	must(t, writer.PutPermission(bg, "dev", privilege.Permission{Resource: "code/*", Action: "push"}))
	must(t, writer.Grant(bg, "ann", "dev", time.Time{}))

	_, err := pool.Exec(bg, `SELECT pg_notify($1, $2)`, privilege.ChangeChannel, "1000000000")
	must(t, err)
	// A real write after it: once the engine knows this one, it has taken
	// the forged notification (one channel, delivered in commit order).
	must(t, writer.Grant(bg, "bob", "dev", time.Time{}))
	v := version(t, writer)
	testserver.WaitFor(t, 30*time.Second, "the write after the forged notification", func() bool { return privilege.KnownVersion(e) >= v })
	if k := privilege.KnownVersion(e); k >= forged {
		t.Errorf("known version %d taken from a forged notification (store at %d)", k, v)
	}
	r := req("ann", "code/x", "push")
	if d := check(t, e, r); !d.Allowed {
		t.Fatalf("granted: %+v", d)
	}
	must(t, writer.Revoke(bg, "ann", "dev"))
	clock.Add(time.Second) // past the bound: the next check reads the store
	if d := check(t, e, r); d.Allowed {
		t.Fatalf("a permit served past the bound after a revoke: %+v", d)
	}
}

// TestReviewForgedRedisVersionCannotPin: the same through Redis: anyone
// who can PUBLISH on the channel (or an engine on another store sharing
// the prefix) announced a version the store never reached, and the
// engine decided at it — ignoring every real write below it, for ever.
func TestReviewForgedRedisVersionCannotPin(t *testing.T) {
	url := sharedPostgres.Get(t)
	rd := testserver.StartRedis(t, nil)
	rdb := newRedisClient(t, rd.Addr)
	clock := &fakeClock{now: time.Now()}
	var ev events = make(events, 16)
	msgs := make(chan string, 64)
	subscribed := make(chan struct{}, 16)
	stores, engines, _ := pgInstances(t, url, 2, func(i int, s *privilege.PostgresStore) []privilege.Option {
		opts := append(clock.opts(), privilege.WithMaxStaleness(time.Second))
		if i == 0 {
			privilege.SetPGWatchHook(s, ev.hook(""))
			opts = append(opts, privilege.WithRedis(rdb),
				privilege.WithOnSubscribed(func() { subscribed <- struct{}{} }),
				privilege.WithOnMessage(func(p string) { msgs <- p }))
		}
		return opts
	})
	e, writer := engines[0], stores[1]
	ev.wait(t, "listening")
	<-subscribed
	must(t, writer.PutRole(bg, privilege.Role{ID: "dev", Active: true}))
	must(t, writer.PutPermission(bg, "dev", privilege.Permission{Resource: "code/*", Action: "push"}))
	must(t, writer.Grant(bg, "ann", "dev", time.Time{}))
	v := version(t, writer)
	testserver.WaitFor(t, 30*time.Second, "the grant", func() bool { return privilege.KnownVersion(e) >= v })

	must(t, rdb.Publish(bg, privilege.L2Channel(e), "1000000000").Err())
	for deadline := time.After(30 * time.Second); ; {
		select {
		case p := <-msgs:
			if p != "1000000000" {
				continue // the engine's own announcements
			}
		case <-deadline:
			t.Fatal("gave up after 30s waiting for the forged message")
		}
		break
	}
	if k := privilege.KnownVersion(e); k >= forged {
		t.Errorf("known version %d taken from a forged announcement (store at %d)", k, v)
	}
	r := req("ann", "code/x", "push")
	if d := check(t, e, r); !d.Allowed {
		t.Fatalf("granted: %+v", d)
	}
	must(t, writer.Revoke(bg, "ann", "dev"))
	clock.Add(time.Second) // past the bound: the next check reads the store
	if d := check(t, e, r); d.Allowed {
		t.Fatalf("a permit served past the bound after a revoke: %+v", d)
	}
	if n, err := rdb.Exists(bg, privilege.EngineL2Key(e, forged, "ann", "code/x", "push")).Result(); err != nil || n != 0 {
		t.Fatalf("L2 entry under the forged version: %d %v", n, err)
	}
}

// queryLog records the SQL a pool starts (a pgx tracer): tests wait on it
// to know a call has reached the server.
type queryLog struct{ started chan string }

func (l *queryLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	select {
	case l.started <- d.SQL:
	default:
	}
	return ctx
}

func (l *queryLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (l *queryLog) wait(t *testing.T, substr string) {
	t.Helper()
	for deadline := time.After(30 * time.Second); ; {
		select {
		case q := <-l.started:
			if strings.Contains(q, substr) {
				return
			}
		case <-deadline:
			t.Fatalf("gave up after 30s waiting for a query on %s", substr)
		}
	}
}

// TestReviewPausedPostgresHonoursCtx: with PostgreSQL paused (SIGSTOP),
// a check that shares a read with another (the version, or the policies
// after a write) waits for it no longer than its own context: it used to
// wait as long as the call leading the read, for ever if that one had no
// deadline.
func TestReviewPausedPostgresHonoursCtx(t *testing.T) {
	pg := testserver.StartPostgres(t)
	for _, shared := range []string{"privilege_version", "privilege_abac_policies"} {
		t.Run(shared, func(t *testing.T) {
			clock := &fakeClock{now: time.Now()}
			log := &queryLog{started: make(chan string, 256)}
			cfg := testserver.PostgresDatabase(t, pg.URL, "gw_privilege")
			cfg.ConnConfig.Tracer = log
			pool, err := pgxpool.NewWithConfig(bg, cfg)
			must(t, err)
			defer pool.Close()
			s, err := privilege.NewPostgresStore(bg, pool)
			must(t, err)
			var ev events = make(events, 16)
			privilege.SetPGWatchHook(s, ev.hook(""))
			e, err := privilege.NewEngine(s, append(clock.opts(), privilege.WithMaxStaleness(time.Second))...)
			must(t, err)
			defer e.Close()
			ev.wait(t, "listening")
			must(t, s.PutRole(bg, privilege.Role{ID: "dev", Active: true}))
			must(t, s.PutPermission(bg, "dev", privilege.Permission{Resource: "code/*", Action: "push"}))
			must(t, s.Grant(bg, "ann", "dev", time.Time{}))
			if d := check(t, e, req("ann", "code/x", "push")); !d.Allowed {
				t.Fatalf("granted: %+v", d)
			}
			if shared == "privilege_version" {
				clock.Add(time.Second) // the next check reads the version
			} else {
				must(t, s.PutPolicy(bg, privilege.Policy{ID: "p", Priority: 1, Effect: privilege.Deny, Active: true,
					Target: privilege.Target{Resources: []string{"secret/*"}}})) // the next check loads the policies
			}
			must(t, pg.Pause())
			resumed := false
			resume := func() {
				if !resumed {
					resumed = true
					must(t, pg.Resume())
				}
			}
			defer resume()
			for len(log.started) > 0 { // the writes' queries
				<-log.started
			}
			leader := make(chan error, 1)
			go func() { _, err := e.Check(bg, req("ann", "code/y", "push")); leader <- err }()
			log.wait(t, shared)

			ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
			defer cancel()
			follower := make(chan error, 1)
			go func() {
				d, err := e.Check(ctx, req("ann", "code/z", "push"))
				if err == nil || d.Allowed {
					err = fmt.Errorf("decided %+v with the store paused", d)
				} else {
					err = nil
				}
				follower <- err
			}()
			select {
			case err := <-follower:
				must(t, err)
			case <-time.After(30 * time.Second):
				t.Fatal("a check waited 30s, past its context, for another's read of a paused store")
			}
			resume()
			must(t, <-leader)
		})
	}
}

// TestReviewFailOpenGrantExpiry: a fail-open answer is the last known
// decision, but not a permit that relied on a grant which has expired
// since: L1 and L2 stop serving it at the expiry, and so must fail-open
// (the expiry is known without the store). It was served for the whole
// window.
func TestReviewFailOpenGrantExpiry(t *testing.T) {
	s := privilege.NewMemoryStore()
	seed(t, s)
	clock := &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	must(t, s.Grant(bg, "ann", "developer", clock.Now().Add(10*time.Second)))
	must(t, s.Grant(bg, "bob", "developer", time.Time{}))
	fs := &failingStore{MemoryStore: s}
	e := newEngine(t, fs, append(clock.opts(), privilege.WithFailOpen(time.Minute))...)
	ann, bob := req("ann", "code/x", "push"), req("bob", "code/x", "push")
	for _, r := range []privilege.Request{ann, bob} {
		if d := check(t, e, r); !d.Allowed {
			t.Fatalf("granted: %+v", d)
		}
	}
	clock.Add(10 * time.Second) // ann's grant expires now
	fs.fail(errRefused)         // the store is gone
	if d, err := e.Check(bg, bob); err != nil || !d.Allowed {
		t.Fatalf("fail-open within the window: %+v %v", d, err)
	}
	if d, err := e.Check(bg, ann); err == nil || d.Allowed {
		t.Fatalf("fail-open served a permit past the expiry of the grant it relied on: %+v %v", d, err)
	}
}
