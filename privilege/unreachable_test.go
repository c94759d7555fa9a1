package privilege_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/groundwork-go/groundwork/privilege"
)

// failingStore is a MemoryStore whose reads fail with *fault while it
// is set.
type failingStore struct {
	*privilege.MemoryStore
	fault atomic.Pointer[error]
}

func (s *failingStore) fail(err error) { s.fault.Store(&err) }

func (s *failingStore) err() error {
	if p := s.fault.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *failingStore) Version(ctx context.Context) (uint64, error) {
	if err := s.err(); err != nil {
		return 0, err
	}
	return s.MemoryStore.Version(ctx)
}

func (s *failingStore) EffectiveRoles(ctx context.Context, user string, now time.Time) ([]privilege.EffectiveRole, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.MemoryStore.EffectiveRoles(ctx, user, now)
}

func (s *failingStore) Policies(ctx context.Context) ([]privilege.Policy, error) {
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.MemoryStore.Policies(ctx)
}

var errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

// TestUnreachableClassifies: outages (the store cannot be reached) and
// faults (the data or the call is wrong) are told apart, including the
// errors a real pgx pool gives for a server that is not there.
func TestUnreachableClassifies(t *testing.T) {
	pool, err := pgxpool.New(bg, "postgres://nobody@127.0.0.1:1/none?connect_timeout=5")
	mustNil(t, err)
	defer pool.Close()
	_, dialErr := pool.Exec(bg, "SELECT 1") // nothing listens on port 1
	closedPool, err := pgxpool.New(bg, "postgres://nobody@127.0.0.1:1/none")
	mustNil(t, err)
	closedPool.Close()
	_, closedErr := closedPool.Exec(bg, "SELECT 1")
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"pgx dial refused", dialErr, true},
		{"connection refused", fmt.Errorf("check: %w", errRefused), true},
		{"connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, true},
		{"EOF mid-reply", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"timeout inside the store", context.DeadlineExceeded, true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"own store's outage", fmt.Errorf("disk: %w", privilege.ErrUnavailable), true},
		{"store closed", privilege.ErrClosed, false},
		{"pool closed by the application", closedErr, false},
		{"bad stored condition", fmt.Errorf("stored policy: %w", privilege.ErrBadCondition), false},
		{"invalid", privilege.ErrInvalid, false},
		{"undefined table", &pgconn.PgError{Code: "42P01"}, false},
		{"cancelled", context.Canceled, false},
		{"unknown", errors.New("something else"), false},
		{"closed and refused", errors.Join(privilege.ErrClosed, errRefused), false},
	} {
		if c.err == nil {
			t.Fatalf("%s: no error", c.name)
		}
		if got := privilege.Unreachable(c.err); got != c.want {
			t.Errorf("%s (%v): unreachable %v, want %v", c.name, c.err, got, c.want)
		}
	}
}

// TestFailOpenOnlyOutages: WithFailOpen answers an outage with the last
// decision, but a store the application closed and an error that is not
// an outage stay fail-closed denies, uncounted as fail-open.
func TestFailOpenOnlyOutages(t *testing.T) {
	for _, c := range []struct {
		name  string
		fault error // nil: close the store
		open  bool
	}{
		{"refused", errRefused, true},
		{"own outage", fmt.Errorf("replica: %w", privilege.ErrUnavailable), true},
		{"closed", nil, false},
		{"invalid", fmt.Errorf("%w: bad row", privilege.ErrInvalid), false},
		{"unknown", errors.New("corrupt page"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &failingStore{MemoryStore: privilege.NewMemoryStore()}
			seed(t, s)
			must(t, s.Grant(bg, "ann", "developer", time.Time{}))
			mp, reader := metrics(t)
			e := newEngine(t, s, privilege.WithFailOpen(time.Hour), privilege.WithMeterProvider(mp))
			r := req("ann", "code/x", "push")
			if d := check(t, e, r); !d.Allowed {
				t.Fatalf("granted: %+v", d)
			}
			if c.fault == nil {
				must(t, s.Close())
			} else {
				s.fail(c.fault)
			}
			d, err := e.Check(bg, r)
			n := totals(t, reader)["privilege.failopen"]
			if c.open {
				if err != nil || !d.Allowed || !strings.HasPrefix(d.Reason, "fail-open") || n != 1 {
					t.Fatalf("outage: %+v %v (failopen %d), want the last decision", d, err, n)
				}
				return
			}
			if err == nil || d.Allowed || d.Reason != "store error" || n != 0 {
				t.Fatalf("fault: %+v %v (failopen %d), want a fail-closed deny", d, err, n)
			}
			if c.fault == nil && !errors.Is(err, privilege.ErrClosed) {
				t.Fatalf("closed store: %v, want ErrClosed", err)
			}
		})
	}
}

// TestFailOpenNotForBadStoredPolicy: a policy written around the store
// (in SQL) whose condition no longer compiles makes every check fail;
// that is the data's fault, not an outage, so WithFailOpen must not
// answer it with old decisions.
func TestFailOpenNotForBadStoredPolicy(t *testing.T) {
	url := pgCluster(t)
	s, pool := newPGStore(t, url)
	must(t, s.PutRole(bg, privilege.Role{ID: "dev", Active: true}))
	must(t, s.PutPermission(bg, "dev", privilege.Permission{Resource: "code/*", Action: "push"}))
	must(t, s.Grant(bg, "ann", "dev", time.Time{}))
	must(t, s.PutPolicy(bg, privilege.Policy{ID: "other", Priority: 1, Effect: privilege.Permit,
		Target: privilege.Target{Resources: []string{"other/*"}}, Condition: "true", Active: true}))
	clock := &fakeClock{now: time.Now()}
	mp, reader := metrics(t)
	e := newEngine(t, s, append(clock.opts(), privilege.WithMaxStaleness(time.Second),
		privilege.WithFailOpen(time.Hour), privilege.WithMeterProvider(mp))...)
	r := req("ann", "code/x", "push")
	if d := check(t, e, r); !d.Allowed {
		t.Fatalf("granted: %+v", d)
	}
	// Around the store: no NOTIFY; the read past the bound finds it.
	_, err := pool.Exec(bg, `UPDATE privilege_abac_policies SET policy = jsonb_set(policy, '{condition}', '"subject.x +"') WHERE id = 'other'`)
	mustNil(t, err)
	_, err = pool.Exec(bg, `UPDATE privilege_version SET version = version + 1`)
	mustNil(t, err)
	clock.Add(time.Second)
	d, err := e.Check(bg, r)
	if err == nil || d.Allowed || d.Reason != "store error" {
		t.Fatalf("bad stored policy: %+v %v, want a fail-closed deny", d, err)
	}
	wantIs(t, err, privilege.ErrBadCondition)
	if n := totals(t, reader)["privilege.failopen"]; n != 0 {
		t.Fatalf("%d fail-open answers", n)
	}
}
