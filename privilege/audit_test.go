package privilege_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/privilege"
)

// recorder is an AuditSink keeping what it is given.
type recorder struct {
	mu     sync.Mutex
	events []privilege.AuditEvent
}

func (r *recorder) Audit(_ context.Context, e privilege.AuditEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) got() []privilege.AuditEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]privilege.AuditEvent(nil), r.events...)
}

// sequence returns the given numbers in turn, as the sampler's random
// source; it fails the test if asked for more.
func sequence(t *testing.T, xs ...float64) func() float64 {
	var mu sync.Mutex
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		if len(xs) == 0 {
			t.Error("sampler asked for more random numbers than expected")
			return 0
		}
		x := xs[0]
		xs = xs[1:]
		return x
	}
}

func auditStore(t *testing.T) *privilege.MemoryStore {
	s := privilege.NewMemoryStore()
	t.Cleanup(func() { _ = s.Close() })
	seed(t, s)
	must(t, s.Grant(bg, "ann", "developer", time.Time{}))
	return s
}

// TestAuditDeniesNeverSampled: at sample 0 no allow is audited and every
// deny is — computed, from L1, fail-closed, in a batch, engine closed.
func TestAuditDeniesNeverSampled(t *testing.T) {
	s := auditStore(t)
	rec := &recorder{}
	// Random numbers of 0 would sample an allow in at any rate above 0.
	e := newEngine(t, s, privilege.WithAudit(rec, 0), privilege.WithAuditRand(func() float64 { return 0 }))
	allow, deny := req("ann", "code/x", "push"), req("ann", "code/x", "delete")
	check(t, e, allow)
	check(t, e, allow)
	check(t, e, deny)
	check(t, e, deny)
	_, _ = e.Check(bg, req("", "code/x", "push"))
	_, _ = e.CheckBatch(bg, []privilege.Request{allow, deny})
	must(t, e.Close())
	_, _ = e.Check(bg, allow)
	_, _ = e.CheckBatch(bg, []privilege.Request{allow})

	var sources []string
	for _, ev := range rec.got() {
		if ev.Allowed {
			t.Errorf("allow audited at sample 0: %+v", ev)
		}
		sources = append(sources, ev.Source+":"+ev.Action)
	}
	want := []string{"computed:delete", "l1:delete", "error:push", "l1:delete", "error:push", "error:push"}
	if len(sources) != len(want) {
		t.Fatalf("audited %v, want %v", sources, want)
	}
	for i := range want {
		if sources[i] != want[i] {
			t.Fatalf("audited %v, want %v", sources, want)
		}
	}
}

// TestAuditSamplesAllows: an allow is audited when the random number is
// below the rate; the sampler is not consulted for denies.
func TestAuditSamplesAllows(t *testing.T) {
	s := auditStore(t)
	rec := &recorder{}
	e := newEngine(t, s, privilege.WithAudit(rec, 0.5), privilege.WithAuditRand(sequence(t, 0.1, 0.9, 0.49, 0.5)))
	allow, deny := req("ann", "code/x", "push"), req("ann", "code/x", "delete")
	for range 4 {
		check(t, e, allow)
		check(t, e, deny)
	}
	var allows, denies int
	for _, ev := range rec.got() {
		if ev.Allowed {
			allows++
		} else {
			denies++
		}
	}
	if allows != 2 || denies != 4 {
		t.Fatalf("audited %d allows and %d denies, want 2 and 4", allows, denies)
	}
}

// TestAuditFields: an event carries the request, the decision, the store
// version, the engine's time and where the decision came from.
func TestAuditFields(t *testing.T) {
	s := auditStore(t)
	clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	rec := &recorder{}
	e := newEngine(t, s, privilege.WithAudit(rec, 1), privilege.WithClock(clock.Now))
	d := check(t, e, req("ann", "code/x", "push"))
	clock.Add(time.Second)
	check(t, e, req("ann", "code/x", "push"))
	v, err := s.Version(bg)
	must(t, err)
	got := rec.got()
	if len(got) != 2 {
		t.Fatalf("%d events, want 2: %+v", len(got), got)
	}
	want := privilege.AuditEvent{Subject: "ann", Resource: "code/x", Action: "push", Allowed: true,
		Reason: d.Reason, Role: "developer", Version: v, Time: clock.Now().Add(-time.Second), Source: "computed"}
	if got[0] != want || d.Reason == "" {
		t.Errorf("computed: got %+v\nwant %+v", got[0], want)
	}
	want.Time, want.Source = clock.Now(), "l1"
	if got[1] != want {
		t.Errorf("l1 hit: got %+v\nwant %+v", got[1], want)
	}
}

type panicSink struct{}

func (panicSink) Audit(context.Context, privilege.AuditEvent) { panic("sink broke") }

// TestAuditPanickingSink: a sink that panics changes no decision and is
// counted.
func TestAuditPanickingSink(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(bg)
	s := auditStore(t)
	e := newEngine(t, s, privilege.WithAudit(panicSink{}, 1), privilege.WithMeterProvider(mp))
	if d := check(t, e, req("ann", "code/x", "push")); !d.Allowed {
		t.Fatalf("allow lost to a panicking sink: %+v", d)
	}
	if d := check(t, e, req("ann", "code/x", "delete")); d.Allowed {
		t.Fatalf("deny lost to a panicking sink: %+v", d)
	}
	if _, err := e.Check(bg, req("", "code/x", "push")); !errors.Is(err, privilege.ErrInvalid) {
		t.Fatalf("error lost to a panicking sink: %v", err)
	}
	got := otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
		if p.Metric == "privilege.audit.panics" {
			return "panics"
		}
		return ""
	})
	if got["panics"] != 3 {
		t.Fatalf("privilege.audit.panics = %d, want 3", got["panics"])
	}
}

// TestSlogAudit: one Info line per event, attributes named as the fields,
// the event's time as the record's.
func TestSlogAudit(t *testing.T) {
	var buf bytes.Buffer
	sink := privilege.SlogAudit(slog.New(slog.NewJSONHandler(&buf, nil)))
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sink.Audit(bg, privilege.AuditEvent{Subject: "ann", Resource: "code/x", Action: "push", Allowed: true,
		Reason: "role developer", PolicyID: "p1", Role: "developer", Version: 7, Time: at, Source: "l1"})
	var line map[string]any
	must(t, json.Unmarshal(buf.Bytes(), &line))
	want := map[string]any{"level": "INFO", "msg": "privilege decision", "subject": "ann", "resource": "code/x",
		"action": "push", "allowed": true, "reason": "role developer", "policy_id": "p1", "role": "developer",
		"version": 7.0, "source": "l1"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v (line %s)", k, line[k], v, buf.String())
		}
	}
	if line["time"] != at.Format(time.RFC3339Nano) || bytes.Count(buf.Bytes(), []byte(`"time"`)) != 1 {
		t.Errorf("want one time, the event's %v: %s", at, buf.String())
	}
	if bytes.Count(buf.Bytes(), []byte("\n")) != 1 {
		t.Errorf("want one line: %s", buf.String())
	}
}

func TestAuditBadOptions(t *testing.T) {
	s := privilege.NewMemoryStore()
	defer s.Close()
	for _, o := range []privilege.Option{privilege.WithAudit(nil, 1), privilege.WithAudit(&recorder{}, -0.1),
		privilege.WithAudit(&recorder{}, 1.1), privilege.WithAudit(&recorder{}, math.NaN())} {
		if _, err := privilege.NewEngine(s, o); !errors.Is(err, privilege.ErrInvalid) {
			t.Errorf("option: %v, want ErrInvalid", err)
		}
	}
}

// TestNoAuditNoAllocation: without a sink an L1 hit allocates nothing.
func TestNoAuditNoAllocation(t *testing.T) {
	s := auditStore(t)
	e := newEngine(t, s)
	r := req("ann", "code/x", "push")
	check(t, e, r)
	if n := testing.AllocsPerRun(100, func() { _, _ = e.Check(bg, r) }); n != 0 {
		t.Fatalf("an L1 hit without audit allocates %v times", n)
	}
}
