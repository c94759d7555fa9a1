package greyroute_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/resilience"
)

// reports counts a Router's flushes of breaker reports, so a test waits
// for one instead of polling Redis.
type reports chan struct{}

func (r reports) hook() {
	select {
	case r <- struct{}{}:
	default: // a flush nobody waits for
	}
}

// wait waits for the next flush.
func (r reports) wait(t *testing.T, what string) {
	t.Helper()
	select {
	case <-r:
	case <-time.After(patience):
		t.Fatalf("no breaker report flushed for %s within %v", what, patience)
	}
}

// TestBreakerReports: a breaker that opens in a Router is reported to
// Redis by the Router's goroutine, under the Router's ID; two Routers'
// reports on one instance are both kept, the worst first; a Router that
// closes takes its reports back; a closed breaker leaves no report. The
// user's own OnStateChange still runs.
func TestBreakerReports(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	clk := newClock()
	a := newAdmin(t, standalone(t, srv.Addr, nil), clk)
	register(t, a, "s", "v1", "a1", "a2")
	must(t, a.SetStable(ctx, "s", "v1"))

	userCalls := make(chan resilience.BreakerState, 16)
	pol := greyroute.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour,
		OnStateChange: func(_ string, _, to resilience.BreakerState) { userCalls <- to }})
	rep1, rep2 := make(reports, 1), make(reports, 1)
	r1, l1 := newRouter(t, standalone(t, srv.Addr, nil), pol, greyroute.WithRouterID("r1"), greyroute.WithClock(clk.Now),
		greyroute.WithReportHook(rep1.hook))
	r2, l2 := newRouter(t, standalone(t, srv.Addr, nil), pol, greyroute.WithRouterID("r2"), greyroute.WithClock(clk.Now),
		greyroute.WithReportHook(rep2.hook))
	l1.rev(t, "s", revOf(t, a, "s"))
	l2.rev(t, "s", revOf(t, a, "s"))

	// fail picks on r until instance id's breaker opens (the balancer
	// chooses; the other instance's calls succeed).
	fail := func(r *greyroute.Router, id string) {
		t.Helper()
		for range 100 {
			inst, err := r.Pick(ctx, "t", "s")
			must(t, err)
			if inst.ID == id {
				r.Done(inst, errors.New("boom"), time.Millisecond)
				return
			}
			r.Done(inst, nil, time.Millisecond)
		}
		t.Fatalf("%s never picked", id)
	}
	fail(r1, "a1")
	rep1.wait(t, "r1's open a1")
	if to := <-userCalls; to != resilience.StateOpen {
		t.Fatalf("the user's OnStateChange got %v", to)
	}
	br, err := a.Breakers(ctx, "s")
	must(t, err)
	if len(br) != 1 || len(br["a1"]) != 1 || br["a1"][0] != (greyroute.BreakerReport{State: "open", Router: "r1", At: clk.Now()}) {
		t.Fatalf("after r1 opened a1: %+v", br)
	}

	clk.Advance(time.Second)
	fail(r2, "a1")
	rep2.wait(t, "r2's open a1")
	br, err = a.Breakers(ctx, "s")
	must(t, err)
	if len(br["a1"]) != 2 || br["a1"][0].Router != "r2" || br["a1"][1].Router != "r1" || !br["a1"][0].At.Equal(clk.Now()) {
		t.Fatalf("two Routers' reports, newest first: %+v", br)
	}

	// The page's view names the worst state.
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/services/s", nil))
	body := rec.Body.String()
	for _, want := range []string{`"id":"a1"`, `"breaker":"open","breakers":[{"state":"open","router":"r2"`, `"id":"a2"`} {
		if rec.Code != 200 || !strings.Contains(body, want) {
			t.Fatalf("GET service: %d %s, want it to hold %s", rec.Code, body, want)
		}
	}
	if !strings.Contains(body[strings.Index(body, `"id":"a2"`):], `"breaker":"closed"`) {
		t.Fatalf("a2's breaker: %s", body)
	}

	// r1 closes: its report goes, r2's stays.
	must(t, r1.Close())
	br, err = a.Breakers(ctx, "s")
	must(t, err)
	if len(br["a1"]) != 1 || br["a1"][0].Router != "r2" {
		t.Fatalf("after r1 closed: %+v", br)
	}
	must(t, r2.Close())
	br, err = a.Breakers(ctx, "s")
	must(t, err)
	if len(br) != 0 {
		t.Fatalf("after both closed: %+v", br)
	}
	if _, err := a.Breakers(ctx, "s{x}"); !errors.Is(err, greyroute.ErrInvalid) {
		t.Fatalf("bad service: %v", err)
	}
	if _, err := greyroute.NewRouter(standalone(t, srv.Addr, nil), greyroute.WithRouterID("")); !errors.Is(err, greyroute.ErrInvalid) {
		t.Fatalf("empty router ID: %v", err)
	}
}

// TestBreakerReportsStaleAndCorrupt: a report over 24h old (a Router that
// died without Close) is dropped by the next report on its instance, and
// a value no Router wrote is neither shown nor in a report's way.
func TestBreakerReportsStaleAndCorrupt(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	c := standalone(t, srv.Addr, nil)
	clk := newClock()
	a := newAdmin(t, c, clk)
	register(t, a, "s", "v1", "a1")
	must(t, a.SetStable(ctx, "s", "v1"))
	ghost := fmt.Sprintf(`{"ghost":{"state":"open","at":%d},"recent":{"state":"half-open","at":%d}}`,
		clk.Now().Add(-25*time.Hour).UnixMilli(), clk.Now().Add(-time.Hour).UnixMilli())
	must(t, c.HSet(ctx, "greyroute:{s}:breakers", "a1", ghost, "zz", "not json").Err())
	br, err := a.Breakers(ctx, "s")
	must(t, err)
	if len(br) != 1 || len(br["a1"]) != 2 || br["a1"][0].Router != "ghost" || br["a1"][1].State != "half-open" {
		t.Fatalf("before any report: %+v", br)
	}

	flushed := make(reports, 1)
	r, l := newRouter(t, c, greyroute.WithRouterID("r1"), greyroute.WithClock(clk.Now), greyroute.WithReportHook(flushed.hook),
		greyroute.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}))
	l.rev(t, "s", revOf(t, a, "s"))
	inst, err := r.Pick(ctx, "t", "s")
	must(t, err)
	r.Done(inst, errors.New("boom"), time.Millisecond)
	flushed.wait(t, "r1's open a1")
	br, err = a.Breakers(ctx, "s")
	must(t, err)
	if len(br["a1"]) != 2 || br["a1"][0].Router != "r1" || br["a1"][1].Router != "recent" {
		t.Fatalf("after r1's report the ghost's should be gone: %+v", br)
	}
}

// TestBreakerReportsRedisDown: a report whose write fails because Redis
// is down is kept and written once Redis is back, with one log line.
func TestBreakerReportsRedisDown(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	clk := newClock()
	a := newAdmin(t, standalone(t, srv.Addr, nil), clk)
	register(t, a, "s", "v1", "a1")
	must(t, a.SetStable(ctx, "s", "v1"))
	var logs logBuf
	flushed := make(reports, 1)
	r, l := newRouter(t, standalone(t, srv.Addr, &redis.Options{MaxRetries: -1}), greyroute.WithRouterID("r1"), greyroute.WithClock(clk.Now),
		greyroute.WithReportHook(flushed.hook), greyroute.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		greyroute.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}))
	l.rev(t, "s", revOf(t, a, "s"))
	inst, err := r.Pick(ctx, "t", "s")
	must(t, err)

	srv.Kill()
	r.Done(inst, errors.New("boom"), time.Millisecond) // opens a1 while Redis is down
	flushed.wait(t, "the failed flush")
	if n := logs.count("cannot report breaker states"); n != 1 {
		t.Fatalf("%d log lines of the failed report, want 1:\n%s", n, logs.String())
	}
	srv.Restart(t)
	deadline := time.After(patience)
	for {
		select {
		case <-flushed:
		case <-deadline:
			t.Fatalf("a1's report never written after Redis came back:\n%s", logs.String())
		}
		br, err := a.Breakers(ctx, "s")
		must(t, err)
		if len(br["a1"]) == 1 && br["a1"][0].State == "open" && br["a1"][0].Router == "r1" {
			break
		}
	}
	if n := logs.count("cannot report breaker states"); n != 1 {
		t.Fatalf("%d log lines, want 1 for the outage:\n%s", n, logs.String())
	}
}

// TestBreakerReportsRefused: a report Redis refuses (the key is not a
// hash: the script fails) would fail again; it is dropped, not retried
// for ever.
func TestBreakerReportsRefused(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	c := standalone(t, srv.Addr, nil)
	a := newAdmin(t, c, nil)
	register(t, a, "s", "v1", "a1")
	must(t, a.SetStable(ctx, "s", "v1"))
	must(t, c.Set(ctx, "greyroute:{s}:breakers", "not a hash", 0).Err())
	var logs logBuf
	flushed := make(reports, 1)
	r, l := newRouter(t, c, greyroute.WithReportHook(flushed.hook), greyroute.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		greyroute.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}))
	l.rev(t, "s", revOf(t, a, "s"))
	inst, err := r.Pick(ctx, "t", "s")
	must(t, err)
	r.Done(inst, errors.New("boom"), time.Millisecond)
	flushed.wait(t, "the refused report")
	if got := logs.String(); !strings.Contains(got, "cannot report breaker states") || !strings.Contains(got, "retried=0") || !strings.Contains(got, "WRONGTYPE") {
		t.Fatalf("log: %s", got)
	}
}
