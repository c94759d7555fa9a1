package greyroute_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/resilience"
)

var errCall = errors.New("call failed")

// rbWatch records what a Router's auto-rollback did, through its hooks
// and OnRollback, so tests wait on steps rather than sleeping.
type rbWatch struct {
	mu     sync.Mutex
	trips  map[string]int                  // service → trips (in Done)
	before func(e greyroute.RollbackEvent) // each script attempt; may block
	after  chan string                     // "<service> <status>"
	events chan greyroute.RollbackEvent    // OnRollback
}

func newWatch() *rbWatch {
	return &rbWatch{trips: map[string]int{}, after: make(chan string, 16), events: make(chan greyroute.RollbackEvent, 16)}
}

func (w *rbWatch) options(p greyroute.RollbackPolicy) []greyroute.Option {
	if p.OnRollback == nil {
		p.OnRollback = func(e greyroute.RollbackEvent) { w.events <- e }
	}
	return []greyroute.Option{greyroute.WithAutoRollback(p), greyroute.WithRollbackHook(w.hook), noBreaker}
}

// noBreaker keeps the instances' breakers out of tests that count calls
// exactly: a breaker open on the canary's one instance would make its
// Picks fail (counted too, see TestAutoRollbackBreakerOpen).
var noBreaker = greyroute.WithBreaker(resilience.BreakerPolicy{Disabled: true})

func (w *rbWatch) hook(stage string, e greyroute.RollbackEvent, status string) {
	switch stage {
	case "trip":
		w.mu.Lock()
		w.trips[e.Service]++
		w.mu.Unlock()
	case "before":
		if w.before != nil {
			w.before(e)
		}
	case "after":
		w.after <- e.Service + " " + status
	}
}

func (w *rbWatch) tripsOf(service string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.trips[service]
}

func (w *rbWatch) event(t *testing.T) greyroute.RollbackEvent {
	t.Helper()
	select {
	case e := <-w.events:
		return e
	case <-time.After(patience):
		t.Fatal("no rollback event")
	}
	return greyroute.RollbackEvent{}
}

func (w *rbWatch) status(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-w.after:
		if got != want {
			t.Fatalf("rollback ended %q, want %q", got, want)
		}
	case <-time.After(patience):
		t.Fatalf("no rollback outcome (want %q)", want)
	}
}

// canary sets service up: stable v1 (two instances), a 50% rollout to v2
// (one instance).
func canary(t *testing.T, a *greyroute.Admin, service string) {
	t.Helper()
	register(t, a, service, "v1", service+"-a1", service+"-a2")
	register(t, a, service, "v2", service+"-b1")
	must(t, a.SetStable(context.Background(), service, "v1"))
	must(t, a.SetRollout(context.Background(), service, greyroute.Rollout{To: "v2", Percent: 50}))
}

// tenantsOf returns n tenants inside (in true) or outside the 50%
// rollout of service.
func tenantsOf(service string, in bool, n int) []string {
	var out []string
	for i := 0; len(out) < n; i++ {
		tn := fmt.Sprintf("tenant-%d", i)
		if (greyroute.Bucket(tn, service) < 5000) == in {
			out = append(out, tn)
		}
	}
	return out
}

// calls makes n calls of tenants (in turn) to service, each picked on
// version and ended with err.
func calls(t *testing.T, r *greyroute.Router, service, version string, tenants []string, n int, err error) {
	t.Helper()
	for i := range n {
		inst, perr := r.Pick(context.Background(), tenants[i%len(tenants)], service)
		if perr != nil {
			t.Fatalf("pick %s: %v", service, perr)
		}
		if inst.Version != version {
			t.Fatalf("tenant %s of %s on %s, want %s", tenants[i%len(tenants)], service, inst.Version, version)
		}
		r.Done(inst, err, time.Millisecond)
	}
}

// TestAutoRollbackOnceAcrossRouters: three Routers (their own clients)
// see the same failing canary and decide at once; exactly one ends the
// rollout — one change, one rev bump, one event, one RollbackEvent — the
// others are told it is done already. Every Router then sends the
// canary's tenants back to stable; a pin to the canary stays.
func TestAutoRollbackOnceAcrossRouters(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	clk := newClock()
	direct := standalone(t, srv.Addr, nil)
	a := newAdmin(t, direct, clk)
	canary(t, a, "orders")
	pinned := tenantsOf("orders", false, 1)[0]
	must(t, a.Pin(ctx, pinned, "orders", "v2"))

	w := newWatch()
	var arrived sync.WaitGroup
	arrived.Add(3)
	release := make(chan struct{})
	w.before = func(greyroute.RollbackEvent) { arrived.Done(); <-release }
	var rs []*greyroute.Router
	var ls []*loads
	var readers []*sdkmetric.ManualReader
	for i := range 3 {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		t.Cleanup(func() { mp.Shutdown(ctx) })
		opts := w.options(greyroute.RollbackPolicy{Threshold: 0.5, MinRequests: 20, Name: fmt.Sprintf("router-%d", i)})
		r, l := newRouter(t, standalone(t, srv.Addr, nil), append(opts, greyroute.WithClock(clk.Now), greyroute.WithMeterProvider(mp))...)
		rs, ls, readers = append(rs, r), append(ls, l), append(readers, reader)
	}
	rev0 := revOf(t, a, "orders")
	for _, l := range ls {
		l.rev(t, "orders", rev0)
	}
	changes := subscribe(t, direct, greyroute.DefaultPrefix)
	in := tenantsOf("orders", true, 7)
	for _, r := range rs {
		calls(t, r, "orders", "v2", in, 20, errCall)
	}
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	select {
	case <-all:
	case <-time.After(patience):
		t.Fatal("the three routers did not all decide to roll back")
	}
	close(release)
	var got []string
	for range 3 {
		select {
		case s := <-w.after:
			got = append(got, s)
		case <-time.After(patience):
			t.Fatalf("rollback outcomes so far %v, want 3", got)
		}
	}
	slices.Sort(got)
	if want := []string{"orders already", "orders already", "orders ok"}; !slices.Equal(got, want) {
		t.Fatalf("outcomes %v, want %v", got, want)
	}
	e := w.event(t)
	if len(w.events) != 0 {
		t.Fatalf("a second event: %+v", <-w.events)
	}
	if e.Service != "orders" || e.Version != "v2" || e.Requests != 20 || e.Failures != 20 || e.ErrorRate != 1 ||
		e.Window != time.Minute || !e.Time.Equal(clk.Now()) || !strings.HasPrefix(e.Router, "router-") || e.ID == "" {
		t.Fatalf("event %+v", e)
	}
	// One change announced: the next event is the marker's.
	expect(t, changes, fmt.Sprintf("orders %d", rev0+1))
	must(t, a.Pin(ctx, "marker", "orders", "v1"))
	expect(t, changes, fmt.Sprintf("orders %d", rev0+2))

	tab, err := a.Snapshot(ctx, "orders")
	must(t, err)
	if tab.RolloutTo != "" || tab.RolloutBP != 0 || tab.Stable != "v1" || tab.Pins[pinned] != "v2" {
		t.Fatalf("table after the rollback: %+v", tab)
	}
	if lr := tab.LastRollback; lr == nil || lr.ID != e.ID || lr.Version != "v2" || lr.Requests != 20 || lr.Router != e.Router || !lr.Time.Equal(e.Time) {
		t.Fatalf("LastRollback %+v, want the event %+v", tab.LastRollback, e)
	}
	for i, r := range rs {
		ls[i].rev(t, "orders", rev0+1)
		calls(t, r, "orders", "v1", in, len(in), nil)
		calls(t, r, "orders", "v2", []string{pinned}, 1, nil)
	}
	totals := map[string]int64{}
	for _, reader := range readers {
		for k, v := range otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
			if p.Metric != "greyroute.rollbacks" {
				return ""
			}
			return p.Attr("outcome")
		}) {
			totals[k] += v
		}
	}
	if totals["rolled_back"] != 1 || totals["already"] != 2 || totals["failed"] != 0 || totals["emit_failed"] != 0 {
		t.Fatalf("greyroute.rollbacks %v", totals)
	}
}

// TestAutoRollbackCounting: what the window counts. Below MinRequests
// nothing happens; failures on the stable version never count; client
// cancellations count as nothing; the window slides with the clock; an
// error rate equal to the threshold is not above it; a tenant pinned to
// the canary counts, and keeps its pin.
func TestAutoRollbackCounting(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	clk := newClock()
	a := newAdmin(t, standalone(t, srv.Addr, nil), clk)
	services := []string{"minreq", "stablefail", "cancel", "slide", "threshold", "pinned"}
	for _, s := range services {
		canary(t, a, s)
	}
	w := newWatch()
	r, l := newRouter(t, standalone(t, srv.Addr, nil), append(w.options(greyroute.RollbackPolicy{}), greyroute.WithClock(clk.Now))...)
	for _, s := range services {
		l.rev(t, s, revOf(t, a, s))
	}
	tally := func(service string, wantCalls, wantFailures int64) {
		t.Helper()
		c, f, ok := greyroute.RollbackTally(r, service)
		if !ok || c != wantCalls || f != wantFailures || w.tripsOf(service) != 0 {
			t.Fatalf("%s: window %d calls %d failures (%v), %d trips; want %d, %d, no trip", service, c, f, ok, w.tripsOf(service), wantCalls, wantFailures)
		}
	}
	rolledBack := func(service string, wantCalls, wantFailures int64) {
		t.Helper()
		if n := w.tripsOf(service); n != 1 {
			t.Fatalf("%s: %d trips, want 1", service, n)
		}
		w.status(t, service+" ok")
		e := w.event(t)
		if e.Service != service || e.Requests != wantCalls || e.Failures != wantFailures {
			t.Fatalf("%s: event %+v, want %d calls %d failures", service, e, wantCalls, wantFailures)
		}
	}

	in := tenantsOf("minreq", true, 5)
	calls(t, r, "minreq", "v2", in, 10, errCall)
	calls(t, r, "minreq", "v2", in, 9, context.DeadlineExceeded) // a deadline is a failure
	tally("minreq", 19, 19)
	calls(t, r, "minreq", "v2", in, 1, errCall)
	rolledBack("minreq", 20, 20)

	calls(t, r, "stablefail", "v1", tenantsOf("stablefail", false, 5), 100, errCall)
	tally("stablefail", 0, 0)

	in = tenantsOf("cancel", true, 5)
	calls(t, r, "cancel", "v2", in, 50, context.Canceled)
	calls(t, r, "cancel", "v2", in, 50, fmt.Errorf("client went away: %w", context.Canceled))
	calls(t, r, "cancel", "v2", in, 19, errCall)
	tally("cancel", 19, 19)
	calls(t, r, "cancel", "v2", in, 1, errCall)
	rolledBack("cancel", 20, 20)

	in = tenantsOf("slide", true, 5)
	calls(t, r, "slide", "v2", in, 15, errCall)
	clk.Advance(70 * time.Second) // the window is one minute: those 15 are past (and in another bucket)
	calls(t, r, "slide", "v2", in, 15, errCall)
	tally("slide", 15, 15)
	clk.Advance(30 * time.Second) // half a window on: the last 15 still count
	calls(t, r, "slide", "v2", in, 4, errCall)
	tally("slide", 19, 19)
	calls(t, r, "slide", "v2", in, 1, errCall)
	rolledBack("slide", 20, 20)

	in = tenantsOf("threshold", true, 5)
	calls(t, r, "threshold", "v2", in, 95, nil)
	calls(t, r, "threshold", "v2", in, 5, errCall)
	tally("threshold", 100, 5) // 5%: not above the threshold
	calls(t, r, "threshold", "v2", in, 1, errCall)
	rolledBack("threshold", 101, 6)

	out := tenantsOf("pinned", false, 1)[0]
	must(t, a.Pin(ctx, out, "pinned", "v2"))
	l.rev(t, "pinned", revOf(t, a, "pinned"))
	calls(t, r, "pinned", "v2", []string{out}, 20, errCall)
	rolledBack("pinned", 20, 20)
	rev := revOf(t, a, "pinned")
	l.rev(t, "pinned", rev)
	tab, err := a.Snapshot(ctx, "pinned")
	must(t, err)
	if tab.RolloutTo != "" || tab.Pins[out] != "v2" {
		t.Fatalf("after the rollback: %+v", tab)
	}
	calls(t, r, "pinned", "v2", []string{out}, 1, errCall) // the pin stands; no rollout, no window
	if _, _, ok := greyroute.RollbackTally(r, "pinned"); ok {
		t.Fatal("a window is kept for a service with no rollout")
	}
}

// TestAutoRollbackCompareAndSet: the rollout moved to another version
// between the decision and the script: the script leaves it alone, and
// no event is sent.
func TestAutoRollbackCompareAndSet(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	clk := newClock()
	a := newAdmin(t, standalone(t, srv.Addr, nil), clk)
	canary(t, a, "orders")
	w := newWatch()
	held, release := make(chan struct{}), make(chan struct{})
	w.before = func(greyroute.RollbackEvent) { close(held); <-release }
	r, l := newRouter(t, standalone(t, srv.Addr, nil), append(w.options(greyroute.RollbackPolicy{}), greyroute.WithClock(clk.Now))...)
	l.rev(t, "orders", revOf(t, a, "orders"))
	calls(t, r, "orders", "v2", tenantsOf("orders", true, 3), 20, errCall)
	select {
	case <-held:
	case <-time.After(patience):
		t.Fatal("no rollback attempted")
	}
	must(t, a.SetRollout(ctx, "orders", greyroute.Rollout{To: "v3", Percent: 50}))
	rev := revOf(t, a, "orders")
	close(release)
	w.status(t, "orders already")
	if len(w.events) != 0 {
		t.Fatalf("an event for a rollback not made: %+v", <-w.events)
	}
	tab, err := a.Snapshot(ctx, "orders")
	must(t, err)
	if tab.RolloutTo != "v3" || tab.RolloutBP != 5000 || tab.Rev != rev || tab.LastRollback != nil {
		t.Fatalf("the new rollout was touched: %+v", tab)
	}
}

// TestAutoRollbackLostReply: the reply to the rollback script is lost
// after Redis ran it. Retried — by go-redis, or by the Router's own loop
// when go-redis does not retry — the script finds its own change by the
// rollback's ID: one change, one rev bump, and still one event.
func TestAutoRollbackLostReply(t *testing.T) {
	for _, retries := range []int{1, -1} {
		name := map[int]string{1: "go-redis retries", -1: "router retries"}[retries]
		t.Run(name, func(t *testing.T) {
			noLeaks(t)
			ctx := context.Background()
			srv := testserver.StartRedis(t, nil)
			clk := newClock()
			direct := standalone(t, srv.Addr, nil)
			a := newAdmin(t, direct, clk)
			canary(t, a, "orders")
			p := testserver.NewRedisProxy(t, srv.Addr)
			w := newWatch()
			r, l := newRouter(t, standalone(t, p.Addr(), &redis.Options{MaxRetries: retries}),
				append(w.options(greyroute.RollbackPolicy{}), greyroute.WithClock(clk.Now))...)
			rev0 := revOf(t, a, "orders")
			l.rev(t, "orders", rev0)
			changes := subscribe(t, direct, greyroute.DefaultPrefix)
			dropped := p.DropReply(testserver.Drop{Command: testserver.ScriptCall("error_rate")})
			calls(t, r, "orders", "v2", tenantsOf("orders", true, 3), 20, errCall)
			select {
			case <-dropped:
			case <-time.After(patience):
				t.Fatal("the proxy lost no reply")
			}
			w.status(t, "orders ok")
			e := w.event(t)
			expect(t, changes, fmt.Sprintf("orders %d", rev0+1))
			must(t, a.Pin(ctx, "marker", "orders", "v1"))
			expect(t, changes, fmt.Sprintf("orders %d", rev0+2))
			tab, err := a.Snapshot(ctx, "orders")
			must(t, err)
			if tab.RolloutTo != "" || tab.LastRollback == nil || tab.LastRollback.ID != e.ID {
				t.Fatalf("after the retried rollback: %+v (event %+v)", tab, e)
			}
		})
	}
}

// TestAutoRollbackDelivery: a panicking OnRollback and a failing Sink are
// logged and counted; neither stops the other, nor the Router.
func TestAutoRollbackDelivery(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	clk := newClock()
	a := newAdmin(t, standalone(t, srv.Addr, nil), clk)
	canary(t, a, "orders")
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { mp.Shutdown(ctx) })
	var logs logBuf
	w := newWatch()
	sink := sinkFunc(func(_ context.Context, e greyroute.RollbackEvent) error {
		w.events <- e
		return errors.New("topic gone")
	})
	opts := w.options(greyroute.RollbackPolicy{OnRollback: func(greyroute.RollbackEvent) { panic("boom") }, Sink: sink})
	r, l := newRouter(t, standalone(t, srv.Addr, nil), append(opts, greyroute.WithClock(clk.Now), greyroute.WithMeterProvider(mp),
		greyroute.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))...)
	l.rev(t, "orders", revOf(t, a, "orders"))
	calls(t, r, "orders", "v2", tenantsOf("orders", true, 3), 20, errCall)
	w.status(t, "orders ok")
	if e := w.event(t); e.Version != "v2" {
		t.Fatalf("sink got %+v", e)
	}
	l.rev(t, "orders", revOf(t, a, "orders"))
	calls(t, r, "orders", "v1", tenantsOf("orders", true, 3), 3, nil)
	must(t, r.Close()) // the goroutine has finished emitting
	for _, s := range []string{"OnRollback panicked", "boom", "not delivered to the sink", "topic gone", "canary rolled back"} {
		if logs.count(s) != 1 {
			t.Errorf("log %q: %d times\n%s", s, logs.count(s), logs.String())
		}
	}
	if got := otelcheck.Points(t, reader); len(got) != 0 {
		t.Errorf("metrics reported after Close: %+v", got)
	}
}

type sinkFunc func(ctx context.Context, e greyroute.RollbackEvent) error

func (f sinkFunc) Emit(ctx context.Context, e greyroute.RollbackEvent) error { return f(ctx, e) }

// TestAutoRollbackOptions: a bad policy is ErrInvalid naming the field;
// zero fields take the defaults.
func TestAutoRollbackOptions(t *testing.T) {
	noLeaks(t)
	c := newRedis(t)
	for _, tc := range []struct {
		p     greyroute.RollbackPolicy
		field string
	}{
		{greyroute.RollbackPolicy{Window: time.Millisecond}, "Window"},
		{greyroute.RollbackPolicy{Window: -time.Second}, "Window"},
		{greyroute.RollbackPolicy{Window: 25 * time.Hour}, "Window"},
		{greyroute.RollbackPolicy{Threshold: -0.1}, "Threshold"},
		{greyroute.RollbackPolicy{Threshold: 1}, "Threshold"},
		{greyroute.RollbackPolicy{Threshold: math.NaN()}, "Threshold"},
		{greyroute.RollbackPolicy{MinRequests: -1}, "MinRequests"},
		{greyroute.RollbackPolicy{MinRequests: 1 << 24}, "MinRequests"},
		{greyroute.RollbackPolicy{Name: "a{b}"}, "Name"},
	} {
		r, err := greyroute.NewRouter(c, greyroute.WithAutoRollback(tc.p))
		if !errors.Is(err, greyroute.ErrInvalid) || !strings.Contains(err.Error(), "RollbackPolicy."+tc.field) {
			t.Errorf("%+v: %v, want ErrInvalid naming %s", tc.p, err, tc.field)
		}
		if r != nil {
			r.Close()
		}
	}
	if _, err := greyroute.NewAdmin(c, greyroute.WithAutoRollback(greyroute.RollbackPolicy{})); !errors.Is(err, greyroute.ErrInvalid) {
		t.Errorf("NewAdmin with WithAutoRollback: %v, want ErrInvalid", err)
	}
	r, err := greyroute.NewRouter(c, greyroute.WithAutoRollback(greyroute.RollbackPolicy{}))
	must(t, err)
	must(t, r.Close())
}

// TestAutoRollbackDoneAllocs: with auto-rollback on, a Pick and Done of
// the canary — successes and failures — allocate nothing.
func TestAutoRollbackDoneAllocs(t *testing.T) {
	noLeaks(t)
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	canary(t, a, "s")
	w := newWatch()
	r, l := newRouter(t, standalone(t, srv.Addr, nil), w.options(greyroute.RollbackPolicy{Threshold: 0.5})...)
	l.rev(t, "s", revOf(t, a, "s"))
	ctx := context.Background()
	tenant := tenantsOf("s", true, 1)[0]
	i := 0
	if n := testing.AllocsPerRun(1000, func() {
		inst, err := r.Pick(ctx, tenant, "s")
		if err != nil || inst.Version != "v2" {
			t.Fatal(inst.Version, err)
		}
		var res error
		if i%4 == 0 {
			res = errCall // 25% failures: under the threshold, no rollback runs
		}
		i++
		r.Done(inst, res, time.Millisecond)
	}); n != 0 {
		t.Errorf("canary Pick+Done: %v allocs, want 0", n)
	}
	if w.tripsOf("s") != 0 {
		t.Fatal("the window tripped")
	}
}

// TestAutoRollbackBreakerOpen: a failing canary soon has its breakers
// open, and its Picks fail with ErrNoInstance instead of reaching Done;
// those count as failures, so the rollback still comes.
func TestAutoRollbackBreakerOpen(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	clk := newClock()
	a := newAdmin(t, standalone(t, srv.Addr, nil), clk)
	canary(t, a, "orders")
	w := newWatch()
	r, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithAutoRollback(greyroute.RollbackPolicy{
		OnRollback: func(e greyroute.RollbackEvent) { w.events <- e }}), greyroute.WithRollbackHook(w.hook), greyroute.WithClock(clk.Now))
	rev := revOf(t, a, "orders")
	l.rev(t, "orders", rev)
	in := tenantsOf("orders", true, 3)
	calls(t, r, "orders", "v2", in, 5, errCall) // the default breaker opens after 5 failures in a row
	for i := range 15 {
		if _, err := r.Pick(ctx, in[i%len(in)], "orders"); !errors.Is(err, greyroute.ErrNoInstance) {
			t.Fatalf("pick with the canary's breaker open: %v, want ErrNoInstance", err)
		}
	}
	w.status(t, "orders ok")
	if e := w.event(t); e.Requests != 20 || e.Failures != 20 {
		t.Fatalf("event %+v, want 20 failures of 20", e)
	}
	l.rev(t, "orders", rev+1)
	calls(t, r, "orders", "v1", in, 3, nil)
}
