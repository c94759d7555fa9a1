package privilege_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/privilege"
)

var bg = context.Background()

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fakeClock is the engine's time in tests: it moves only when told, and
// fires the timers started with AfterFunc (privilege.WithTimers) when it
// passes their time.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c     *fakeClock
	at    time.Time
	armed bool
	f     func()
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// Add moves the clock on by d and runs the timers due, in order, after
// the clock has moved.
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	for _, t := range c.timers {
		if t.armed && !t.at.After(c.now) {
			t.armed = false
			due = append(due, t.f)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// AfterFunc starts a timer on the clock (privilege.WithTimers).
func (c *fakeClock) AfterFunc(d time.Duration, f func()) privilege.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), armed: true, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.armed
	t.at, t.armed = t.c.now.Add(d), true
	return was
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.armed
	t.armed = false
	return was
}

// opts makes an engine read time from c and start its timers on it.
func (c *fakeClock) opts() []privilege.Option {
	return []privilege.Option{privilege.WithClock(c.Now), privilege.WithTimers(c.AfterFunc)}
}

func newEngine(t testing.TB, s privilege.Store, opts ...privilege.Option) *privilege.Engine {
	t.Helper()
	e, err := privilege.NewEngine(s, opts...)
	must(t, err)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func check(t testing.TB, e *privilege.Engine, req privilege.Request) privilege.Decision {
	t.Helper()
	d, err := e.Check(bg, req)
	must(t, err)
	return d
}

func req(sub, res, act string) privilege.Request {
	return privilege.Request{Subject: sub, Resource: res, Action: act}
}

func pol(id string, prio int, eff privilege.Effect, cond string) privilege.Policy {
	return privilege.Policy{ID: id, Priority: prio, Effect: eff, Condition: cond, Active: true, Target: privilege.Target{Resources: []string{"doc/*"}}}
}

// TestPriorityAndCombining: higher priority first; the first priority with
// an applicable policy decides; ties by the combining algorithm; a policy
// whose condition fails or cannot be evaluated moves on.
func TestPriorityAndCombining(t *testing.T) {
	for _, c := range []struct {
		name      string
		policies  []privilege.Policy
		combining privilege.Combining
		allowed   bool
		policy    string
	}{
		{"single permit", []privilege.Policy{pol("p", 1, privilege.Permit, "")}, privilege.DenyOverrides, true, "p"},
		{"higher deny wins", []privilege.Policy{pol("p", 1, privilege.Permit, ""), pol("d", 2, privilege.Deny, "")}, privilege.DenyOverrides, false, "d"},
		{"higher permit wins", []privilege.Policy{pol("p", 2, privilege.Permit, ""), pol("d", 1, privilege.Deny, "")}, privilege.DenyOverrides, true, "p"},
		{"tie deny-overrides", []privilege.Policy{pol("p", 1, privilege.Permit, ""), pol("d", 1, privilege.Deny, "")}, privilege.DenyOverrides, false, "d"},
		{"tie permit-overrides", []privilege.Policy{pol("p", 1, privilege.Permit, ""), pol("d", 1, privilege.Deny, "")}, privilege.PermitOverrides, true, "p"},
		{"false condition moves on", []privilege.Policy{pol("d", 2, privilege.Deny, "false"), pol("p", 1, privilege.Permit, "")}, privilege.DenyOverrides, true, "p"},
		{"indeterminate moves on", []privilege.Policy{pol("d", 2, privilege.Deny, "subject.missing > 3"), pol("p", 1, privilege.Permit, "")}, privilege.DenyOverrides, true, "p"},
		{"condition holds", []privilege.Policy{pol("d", 2, privilege.Deny, `subject.id == "ann" && action == "read"`), pol("p", 1, privilege.Permit, "")}, privilege.DenyOverrides, false, "d"},
		{"nothing applies", []privilege.Policy{pol("p", 1, privilege.Permit, "false")}, privilege.DenyOverrides, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s privilege.Store
			if strings.HasPrefix(c.name, "tie") {
				// MemoryStore refuses a same-priority permit/deny pair.
				s = &conflictingStore{MemoryStore: privilege.NewMemoryStore(), policies: c.policies}
			} else {
				ms := privilege.NewMemoryStore()
				for _, p := range c.policies {
					must(t, ms.PutPolicy(bg, p))
				}
				s = ms
			}
			defer s.Close()
			e := newEngine(t, s, privilege.WithCombining(c.combining))
			d := check(t, e, req("ann", "doc/1", "read"))
			if d.Allowed != c.allowed || d.PolicyID != c.policy || d.Reason == "" {
				t.Fatalf("decision %+v, want allowed=%v by %q", d, c.allowed, c.policy)
			}
		})
	}
}

// conflictingStore serves policies MemoryStore would refuse as a conflict,
// to exercise tie-breaking.
type conflictingStore struct {
	*privilege.MemoryStore
	policies []privilege.Policy
}

func (s *conflictingStore) Policies(context.Context) ([]privilege.Policy, error) {
	return s.policies, nil
}

// seed builds: employee ← developer ← senior (and mentor ← senior),
// developer may push code/*, employee may read wiki/*.
func seed(t testing.TB, s privilege.Store) {
	t.Helper()
	role := func(id string, parents ...string) privilege.Role {
		return privilege.Role{ID: id, Name: id, Parents: parents, Active: true}
	}
	must(t, s.PutRole(bg, role("employee")))
	must(t, s.PutRole(bg, role("developer", "employee")))
	must(t, s.PutRole(bg, role("mentor", "employee")))
	must(t, s.PutRole(bg, role("senior", "developer", "mentor")))
	must(t, s.PutPermission(bg, "employee", privilege.Permission{Resource: "wiki/*", Action: "read"}))
	must(t, s.PutPermission(bg, "developer", privilege.Permission{Resource: "code/*", Action: "push"}))
	must(t, s.PutPermission(bg, "mentor", privilege.Permission{Resource: "reviews", Action: "*"}))
}

// annDeveloper is a store seeded by seed in which ann is a developer,
// closed when the test ends.
func annDeveloper(t testing.TB) *privilege.MemoryStore {
	t.Helper()
	s := privilege.NewMemoryStore()
	t.Cleanup(func() { _ = s.Close() })
	seed(t, s)
	must(t, s.Grant(bg, "ann", "developer", time.Time{}))
	return s
}

func TestRBACHierarchy(t *testing.T) {
	s := privilege.NewMemoryStore()
	defer s.Close()
	seed(t, s)
	must(t, s.Grant(bg, "ann", "senior", time.Time{}))
	must(t, s.Grant(bg, "bob", "employee", time.Time{}))
	e := newEngine(t, s)
	for _, c := range []struct {
		r       privilege.Request
		allowed bool
		role    string
	}{
		{req("ann", "wiki/a/b", "read"), true, "employee"},
		{req("ann", "code/x", "push"), true, "developer"},
		{req("ann", "reviews", "approve"), true, "mentor"},
		{req("ann", "reviews/1", "approve"), false, ""},
		{req("ann", "code", "push"), false, ""},
		{req("bob", "wiki/x", "read"), true, "employee"},
		{req("bob", "code/x", "push"), false, ""},
		{req("carol", "wiki/x", "read"), false, ""},
	} {
		d := check(t, e, c.r)
		if d.Allowed != c.allowed || d.Role != c.role || d.Reason == "" {
			t.Errorf("%+v: %+v, want allowed=%v role=%q", c.r, d, c.allowed, c.role)
		}
	}
	if d := check(t, e, req("ann", "wiki/x", "read")); !strings.Contains(d.Reason, `through "senior"`) {
		t.Errorf("reason %q does not say the granted role", d.Reason)
	}
}

// TestRBACxABAC: an applicable ABAC deny overrides everything; an RBAC or
// an ABAC permit allows; otherwise deny.
func TestRBACxABAC(t *testing.T) {
	s := annDeveloper(t)
	must(t, s.PutPolicy(bg, privilege.Policy{ID: "freeze", Priority: 5, Effect: privilege.Deny, Active: true,
		Target: privilege.Target{Resources: []string{"code/release/*"}, Actions: []string{"push"}}}))
	must(t, s.PutPolicy(bg, privilege.Policy{ID: "guests-read", Priority: 1, Effect: privilege.Permit, Active: true,
		Target: privilege.Target{Subjects: []string{"guest/*"}, Resources: []string{"wiki/public/*"}}}))
	e := newEngine(t, s)
	for _, c := range []struct {
		r            privilege.Request
		allowed      bool
		role, policy string
	}{
		{req("ann", "code/release/1", "push"), false, "", "freeze"},        // ABAC deny beats RBAC permit
		{req("ann", "code/main", "push"), true, "developer", ""},           // RBAC permit, no policy
		{req("guest/7", "wiki/public/a", "read"), true, "", "guests-read"}, // ABAC permit, no role
		{req("guest/7", "wiki/private", "read"), false, "", ""},            // neither
	} {
		d := check(t, e, c.r)
		if d.Allowed != c.allowed || d.Role != c.role || d.PolicyID != c.policy || d.Reason == "" {
			t.Errorf("%+v: %+v, want allowed=%v role=%q policy=%q", c.r, d, c.allowed, c.role, c.policy)
		}
	}
}

// TestExpiry: a grant stops counting at its expiry, with no write, even
// when the permit it gave is in the L1 cache.
func TestExpiry(t *testing.T) {
	s := privilege.NewMemoryStore()
	defer s.Close()
	seed(t, s)
	clock := &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	must(t, s.Grant(bg, "ann", "developer", clock.Now().Add(time.Second)))
	e := newEngine(t, s, privilege.WithClock(clock.Now), privilege.WithL1(100, time.Hour))
	r := req("ann", "code/x", "push")
	for range 2 { // the second one comes from the L1
		if d := check(t, e, r); !d.Allowed {
			t.Fatalf("before expiry: %+v", d)
		}
	}
	clock.Add(time.Second)
	if d := check(t, e, r); d.Allowed {
		t.Fatalf("at expiry, with no write: %+v", d)
	}
}

func TestInactiveRole(t *testing.T) {
	s := privilege.NewMemoryStore()
	defer s.Close()
	seed(t, s)
	must(t, s.Grant(bg, "ann", "senior", time.Time{}))
	e := newEngine(t, s)
	if d := check(t, e, req("ann", "code/x", "push")); !d.Allowed {
		t.Fatalf("active: %+v", d)
	}
	must(t, s.PutRole(bg, privilege.Role{ID: "developer", Parents: []string{"employee"}, Active: false}))
	if d := check(t, e, req("ann", "code/x", "push")); d.Allowed {
		t.Fatalf("developer inactive: %+v", d)
	}
	// Its parent still reaches ann through mentor.
	if d := check(t, e, req("ann", "wiki/x", "read")); !d.Allowed {
		t.Fatalf("employee through mentor: %+v", d)
	}
}

// TestL1NeverServesOlderVersion: a write makes every cached decision
// unreachable, including one whose computation raced the write.
func TestL1NeverServesOlderVersion(t *testing.T) {
	s := annDeveloper(t)
	e := newEngine(t, s)
	r := req("ann", "code/x", "push")
	v0, _ := s.Version(bg)
	if d := check(t, e, r); !d.Allowed || d.Version != v0 {
		t.Fatalf("%+v, want allowed at version %d", d, v0)
	}
	must(t, s.Revoke(bg, "ann", "developer"))
	if d := check(t, e, r); d.Allowed {
		t.Fatalf("after revoke: %+v", d)
	}

	// The race: the permit is computed, then a revoke lands before the
	// engine caches it. The next check must not be served that permit.
	must(t, s.Grant(bg, "ann", "developer", time.Time{}))
	once := true
	e.SetAfterDecide(func() {
		if once {
			once = false
			must(t, s.Revoke(bg, "ann", "developer"))
		}
	})
	if d := check(t, e, r); !d.Allowed {
		t.Fatalf("computed before the revoke: %+v", d)
	}
	if d := check(t, e, r); d.Allowed {
		t.Fatalf("after a revoke that raced the cache fill: %+v", d)
	}
}

// TestAttributeDecisionsNotCached: a decision a condition took part in
// depends on attributes that are not in the cache key.
func TestAttributeDecisionsNotCached(t *testing.T) {
	s := privilege.NewMemoryStore()
	defer s.Close()
	must(t, s.PutPolicy(bg, pol("eng", 1, privilege.Permit, `subject.dept == "eng"`)))
	e := newEngine(t, s)
	r := req("ann", "doc/1", "read")
	r.SubjectAttrs = map[string]any{"dept": "eng"}
	if d := check(t, e, r); !d.Allowed {
		t.Fatalf("eng: %+v", d)
	}
	r.SubjectAttrs = map[string]any{"dept": "sales"}
	if d := check(t, e, r); d.Allowed {
		t.Fatalf("sales served the eng decision: %+v", d)
	}
}

func TestCheckBatch(t *testing.T) {
	s := annDeveloper(t)
	e := newEngine(t, s)
	ds, err := e.CheckBatch(bg, []privilege.Request{
		req("ann", "code/x", "push"), req("ann", "code/x", "delete"), req("", "code/x", "push"),
	})
	if !errors.Is(err, privilege.ErrInvalid) || !strings.Contains(err.Error(), "request 2") {
		t.Fatalf("error %v, want ErrInvalid naming request 2", err)
	}
	if len(ds) != 3 || !ds[0].Allowed || ds[1].Allowed || ds[2].Allowed || ds[2].Reason == "" {
		t.Fatalf("decisions %+v", ds)
	}
	if ds[0].Version != ds[1].Version {
		t.Fatalf("one batch, two versions: %+v", ds)
	}
}

// TestFailClosed: a bad request, an unreachable store and a closed engine
// are denies with a reason and an error.
func TestFailClosed(t *testing.T) {
	s := privilege.NewMemoryStore()
	seed(t, s)
	must(t, s.Grant(bg, "ann", "developer", time.Time{}))
	e := newEngine(t, s, privilege.WithL1(0, 0))
	for _, r := range []privilege.Request{req("", "a", "b"), req("a", "", "b"), req("a", "b", "")} {
		if d, err := e.Check(bg, r); !errors.Is(err, privilege.ErrInvalid) || d.Allowed || d.Reason == "" {
			t.Errorf("%+v: %+v, %v", r, d, err)
		}
	}
	must(t, s.Close())
	if d, err := e.Check(bg, req("ann", "code/x", "push")); err == nil || d.Allowed || d.Reason == "" {
		t.Fatalf("store closed: %+v, %v", d, err)
	}
	must(t, e.Close())
	must(t, e.Close())
	if d, err := e.Check(bg, req("ann", "code/x", "push")); !errors.Is(err, privilege.ErrClosed) || d.Allowed {
		t.Fatalf("engine closed: %+v, %v", d, err)
	}
	if _, err := e.CheckBatch(bg, []privilege.Request{req("ann", "code/x", "push")}); !errors.Is(err, privilege.ErrClosed) {
		t.Fatalf("batch on closed engine: %v", err)
	}
}

func TestBadOptions(t *testing.T) {
	s := privilege.NewMemoryStore()
	defer s.Close()
	for _, o := range []privilege.Option{privilege.WithCombining(7), privilege.WithL1(-1, time.Second), privilege.WithL1(1, 0), privilege.WithMeterProvider(nil), nil,
		privilege.WithRedis(nil), privilege.WithRedisPrefix(""), privilege.WithRedisPrefix("a b"), privilege.WithL2TTL(0), privilege.WithRedisTimeout(-time.Second),
		privilege.WithMaxStaleness(0), privilege.WithFailOpen(0), privilege.WithLogger(nil)} {
		if _, err := privilege.NewEngine(s, o); !errors.Is(err, privilege.ErrInvalid) {
			t.Errorf("option: %v, want ErrInvalid", err)
		}
	}
	if _, err := privilege.NewEngine(nil); !errors.Is(err, privilege.ErrInvalid) {
		t.Errorf("nil store: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(bg)
	s := annDeveloper(t)
	e := newEngine(t, s, privilege.WithMeterProvider(mp))
	check(t, e, req("ann", "code/x", "push"))
	check(t, e, req("ann", "code/x", "push"))
	check(t, e, req("ann", "code/x", "delete"))
	_, _ = e.Check(bg, req("", "code/x", "push"))
	got := otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
		if p.Metric != "privilege.checks" {
			return ""
		}
		return p.Attr("decision") + "/" + p.Attr("source")
	})
	want := map[string]int64{"allow/computed": 1, "allow/l1": 1, "deny/computed": 1, "deny/l1": 0, "error/none": 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
}

// TestNonMatchingTargetsNotEvaluated: a policy whose resource target
// cannot match is not looked at, so its condition never runs.
func TestNonMatchingTargetsNotEvaluated(t *testing.T) {
	s := privilege.NewMemoryStore()
	defer s.Close()
	other := pol("other", 1, privilege.Deny, "subject.missing > 1")
	other.Target.Resources = []string{"other/*", "doc/2"}
	must(t, s.PutPolicy(bg, other))
	e := newEngine(t, s)
	if d := check(t, e, req("ann", "doc/1", "read")); strings.Contains(d.Reason, "indeterminate") {
		t.Fatalf("the condition of a policy on other resources ran: %q", d.Reason)
	}
	if d := check(t, e, req("ann", "other/1", "read")); !strings.Contains(d.Reason, `"other"`) {
		t.Fatalf("a matching policy's condition did not run: %q", d.Reason)
	}
}
