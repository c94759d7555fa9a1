package greyroute_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// flakyRegistry is a Registry the test makes fail, counting its calls so
// that the test waits for them instead of sleeping.
type flakyRegistry struct {
	mu     sync.Mutex
	err    error
	calls  int
	notify chan struct{} // closed at each call
}

func newFlakyRegistry() *flakyRegistry { return &flakyRegistry{notify: make(chan struct{})} }

func (f *flakyRegistry) Instances(context.Context, string) ([]greyroute.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	close(f.notify)
	f.notify = make(chan struct{})
	if f.err != nil {
		return nil, f.err
	}
	return []greyroute.Instance{{ID: "p1", Version: "v1", Addr: "10.0.0.1:80"}}, nil
}

// fail sets the error of the calls to come and returns the count so far.
func (f *flakyRegistry) fail(err error) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
	return f.calls
}

// wait waits until the registry has been called n times.
func (f *flakyRegistry) wait(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(patience)
	for {
		f.mu.Lock()
		calls, ch := f.calls, f.notify
		f.mu.Unlock()
		if calls >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("the registry was called %d times, want %d", calls, n)
		}
	}
}

// TestPolishRegistryErrors: a Registry's failure is not a Redis outage.
// It counts in greyroute.registry.errors and logs one warning naming the
// service and the error per failure streak, however many reloads fail;
// greyroute.table.stale stays 0, nothing says Redis is unreachable, and
// the resyncs (in which Redis answered) still reset greyroute.table.age.
// It used to mark the table stale, log "redis unreachable" and freeze
// table.age.
func TestPolishRegistryErrors(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	must(t, a.SetStable(ctx, "pay", "v1"))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	var logs logBuf
	clk := newClock()
	reg := newFlakyRegistry()
	r, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithRegistry("pay", reg),
		greyroute.WithMeterProvider(mp), greyroute.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		greyroute.WithClock(clk.Now), greyroute.WithResync(100*time.Millisecond))
	l.rev(t, "pay", revOf(t, a, "pay"))
	totals := func() map[string]int64 {
		return otelcheck.Totals(t, reader, func(p otelcheck.Point) string { return p.Metric })
	}

	// Each resync calls the registry: four failed calls mean three whole
	// resyncs that found it failing.
	clk.Advance(time.Hour) // table.age would read an hour if no resync counted
	n := reg.fail(errors.New("consul: connection refused"))
	reg.wait(t, n+4)
	m := totals()
	if m["greyroute.registry.errors"] < 3 {
		t.Errorf("greyroute.registry.errors = %d, want at least 3", m["greyroute.registry.errors"])
	}
	if m["greyroute.table.stale"] != 0 {
		t.Errorf("greyroute.table.stale = %d while only the registry failed", m["greyroute.table.stale"])
	}
	if age := m["greyroute.table.age"]; age >= time.Hour.Milliseconds() {
		t.Errorf("greyroute.table.age = %dms: the resyncs did not count", age)
	}
	if c := logs.count("cannot read the routing table"); c != 0 {
		t.Errorf("%d \"cannot read the routing table\" lines for a registry failure:\n%s", c, logs.String())
	}
	warnings := func() []string {
		var ws []string
		for line := range strings.Lines(logs.String()) {
			if strings.Contains(line, "registry failed") {
				ws = append(ws, line)
			}
		}
		return ws
	}
	if ws := warnings(); len(ws) != 1 || !strings.Contains(ws[0], "service=pay") || !strings.Contains(ws[0], "consul: connection refused") {
		t.Fatalf("want one warning naming the service and the error, got %q", ws)
	}
	if inst, err := r.Pick(ctx, "t", "pay"); err != nil || inst.ID != "p1" {
		t.Fatalf("pick while the registry fails: %v %v, want p1 (the last table)", inst.ID, err)
	} else {
		r.Done(inst, nil, time.Millisecond)
	}

	// It answers again: one info line; a new failure streak warns again.
	n = reg.fail(nil)
	reg.wait(t, n+2)
	if c := logs.count("registry answers again"); c != 1 {
		t.Errorf("%d recovery lines, want 1:\n%s", c, logs.String())
	}
	n = reg.fail(errors.New("consul: 503"))
	reg.wait(t, n+2)
	if ws := warnings(); len(ws) != 2 || !strings.Contains(ws[1], "consul: 503") {
		t.Errorf("want a second warning for the second streak, got %q", ws)
	}
}
