package logship

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
)

type frontValuer struct{ v string }

func (f frontValuer) LogValue() slog.Value { return slog.StringValue("resolved-" + f.v) }

func TestHandlerECSDocument(t *testing.T) {
	s, sink := frontShipper(t)
	log := slog.New(s.Handler(&HandlerOptions{Service: "orders", Env: "prod", Version: "1.2.3", Level: slog.LevelDebug}))
	tid, _ := trace.TraceIDFromHex("0102030405060708090a0b0c0d0e0f10")
	sid, _ := trace.SpanIDFromHex("1112131415161718")
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	at := time.Date(2026, 11, 30, 10, 0, 0, 123456789, time.FixedZone("X", 3600))
	type pt struct{ X, Y int }
	log.LogAttrs(ctx, slog.LevelWarn+2, "hello \"world\"\n",
		slog.String("s", "v"), slog.Int("i", -3), slog.Uint64("u", 7), slog.Float64("f", 1.5), slog.Float64("nan", math.NaN()),
		slog.Bool("b", true), slog.Duration("d", 1500*time.Millisecond), slog.Time("t", at),
		slog.Any("p", pt{1, 2}), slog.Any("ch", make(chan int)), slog.Any("lv", frontValuer{"x"}),
		slog.Group("g", slog.String("a", "1"), slog.Group("h", slog.Int("b", 2))), slog.Group("empty"),
		slog.Group("", slog.String("inl", "y")), slog.Attr{},
		slog.String("message", "mine"), slog.String("service.name", "spoof"), slog.String("s", "again"))
	r, doc := frontLast(t, sink)
	want := map[string]any{
		"log.level": "WARN+2", "message": "hello \"world\"\n", "service.name": "orders", "service.environment": "prod",
		"service.version": "1.2.3", "event.dataset": "orders.log", "ecs.version": ecsVersion,
		"trace.id": "0102030405060708090a0b0c0d0e0f10", "span.id": "1112131415161718",
		"s": "v", "i": -3.0, "u": 7.0, "f": 1.5, "nan": "NaN", "b": true, "d": 1.5e9, "t": "2026-11-30T10:00:00.123456789+01:00",
		"lv": "resolved-x", "inl": "y", "labels.message": "mine", "labels.service.name": "spoof", "s_2": "again",
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("%s = %#v, want %#v", k, doc[k], v)
		}
	}
	if p, _ := doc["p"].(map[string]any); p["X"] != 1.0 {
		t.Errorf("p = %v", doc["p"])
	}
	if ch, _ := doc["ch"].(string); !strings.HasPrefix(ch, "!ERROR:json: unsupported type") {
		t.Errorf("ch = %v", doc["ch"])
	}
	if g, _ := doc["g"].(map[string]any); g["a"] != "1" || g["h"].(map[string]any)["b"] != 2.0 {
		t.Errorf("g = %v", doc["g"])
	}
	if _, ok := doc["empty"]; ok {
		t.Error("an empty group was written")
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(r.ID) || doc["event.id"] != r.ID {
		t.Errorf("event.id %v, Record.ID %q: not one UUIDv7", doc["event.id"], r.ID)
	}
	if r.Service != "orders" || r.Level != slog.LevelWarn+2 || r.Time.IsZero() {
		t.Errorf("record fields %+v", r)
	}
	ts, err := time.Parse(time.RFC3339Nano, doc["@timestamp"].(string))
	if err != nil || !ts.Equal(r.Time) || !strings.HasSuffix(doc["@timestamp"].(string), "Z") {
		t.Errorf("@timestamp %v (%v), Record.Time %v", doc["@timestamp"], err, r.Time)
	}
}

func TestHandlerWithAttrsAndGroups(t *testing.T) {
	s, sink := frontShipper(t)
	base := slog.New(s.Handler(&HandlerOptions{Service: "svc"}))
	l := base.With("req", "r1", "error", "a string error field").WithGroup("http").With("method", "GET").WithGroup("empty")
	l.Info("one")
	_, doc := frontLast(t, sink)
	if doc["req"] != "r1" || doc["labels.error"] != "a string error field" {
		t.Fatalf("doc %v", doc)
	}
	http, _ := doc["http"].(map[string]any)
	if http["method"] != "GET" || http["empty"] != nil {
		t.Fatalf("http %v: want method and no empty group", doc["http"])
	}
	l.Info("two", "status", 200)
	_, doc = frontLast(t, sink)
	if doc["http"].(map[string]any)["empty"].(map[string]any)["status"] != 200.0 {
		t.Fatalf("doc %v", doc)
	}
	// A group left empty and no WithAttrs before it: nothing at all.
	base.WithGroup("g1").WithGroup("g2").Info("three")
	_, doc = frontLast(t, sink)
	if _, ok := doc["g1"]; ok {
		t.Fatalf("empty WithGroup groups written: %v", doc)
	}
	// Duplicates across With and the record are renamed.
	base.With("k", 1).With("k", 2).Info("four", "k", 3)
	_, doc = frontLast(t, sink)
	if doc["k"] != 1.0 || doc["k_2"] != 2.0 || doc["k_3"] != 3.0 {
		t.Fatalf("duplicates: %v", doc)
	}
}

type frontNilErr struct{}

func (*frontNilErr) Error() string { panic("nil receiver") }

func TestHandlerErrors(t *testing.T) {
	s, sink := frontShipper(t)
	l := slog.New(s.Handler(&HandlerOptions{Service: "svc", ErrorStack: true}))
	l.Error("failed", "err", errors.New("boom"), "other", errors.New("second"))
	_, doc := frontLast(t, sink)
	e, _ := doc["error"].(map[string]any)
	if e["message"] != "boom" || e["type"] != "*errors.errorString" || doc["other"] != "second" {
		t.Fatalf("doc %v", doc)
	}
	if st, _ := e["stack_trace"].(string); !strings.Contains(st, "TestHandlerErrors") {
		t.Fatalf("stack_trace %q does not show the logging goroutine", st)
	}
	var nilErr *frontNilErr
	l.With("e", error(nilErr)).Warn("warned")
	_, doc = frontLast(t, sink)
	if e, _ := doc["error"].(map[string]any); e["message"] != "!PANIC in Error()" || e["stack_trace"] != nil {
		t.Fatalf("doc %v", doc)
	}
}

func TestHandlerInvalidOptionsReported(t *testing.T) {
	s, sink := frontShipper(t)
	opts := &HandlerOptions{Service: "svc", Redact: []Rule{{Name: "empty"}, EmailRule()}, Sample: &Sampling{First: -1}}
	if err := opts.Validate(); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("Validate = %v", err)
	}
	if err := (&HandlerOptions{Service: "svc", Redact: DefaultRules(), Sample: &Sampling{First: 1}}).Validate(); err != nil {
		t.Fatal(err)
	}
	l := slog.New(s.Handler(opts))
	_, doc := frontLast(t, sink)
	msg, _ := doc["error"].(map[string]any)["message"].(string)
	if doc["log.level"] != "error" || !strings.Contains(msg, "rule empty selects nothing") || !strings.Contains(msg, "Sampling.First") {
		t.Fatalf("no report of the bad options: %v", doc)
	}
	l.Info("mail a@b.example") // the valid rule still applies
	if _, doc = frontLast(t, sink); doc["message"] != "mail [REDACTED]" {
		t.Fatalf("message %v", doc["message"])
	}
}

func TestHandlerLevel(t *testing.T) {
	s, sink := frontShipper(t)
	var lv slog.LevelVar
	lv.Set(slog.LevelWarn)
	l := slog.New(s.Handler(&HandlerOptions{Service: "svc", Level: &lv}))
	l.Info("no")
	l.Warn("yes")
	if n := len(sink.all()); n != 1 {
		t.Fatalf("%d records", n)
	}
}

// TestHandlerAllocations holds the handler to the budget: the
// handler itself allocates nothing per record (the one allocation a record
// may cost is the pipeline's copy in submit, swapped out here).
func TestHandlerAllocations(t *testing.T) {
	if frontRace {
		t.Skip("sync.Pool drops items under -race; run without it")
	}
	s, _ := frontShipper(t)
	for _, rules := range [][]Rule{nil, DefaultRules()} {
		h := s.Handler(&HandlerOptions{Service: "svc", Redact: rules}).(*handler)
		h.c.submit = func(context.Context, Record, int) {}
		l := slog.New(h).With("component", "api")
		ctx := context.Background()
		l.LogAttrs(ctx, slog.LevelInfo, "warm")
		n := testing.AllocsPerRun(200, func() {
			l.LogAttrs(ctx, slog.LevelInfo, "request served", slog.String("path", "/v1/orders"), slog.Int("status", 200), slog.Duration("took", time.Millisecond), slog.Bool("cached", true))
		})
		if n != 0 {
			t.Errorf("rules %d: %v allocations per record, want 0", len(rules), n)
		}
	}
}

func TestEventIDsUnique(t *testing.T) {
	var f1, f2 frontState
	seen := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	now := time.Now()
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(f *frontState) {
			defer wg.Done()
			for i := 0; i < 5000; i++ {
				id := string(f.appendEventID(nil, now)) // same millisecond: the worst case
				mu.Lock()
				if seen[id] {
					t.Errorf("duplicate id %s", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		}([]*frontState{&f1, &f2}[g%2])
	}
	wg.Wait()
}

func TestAppendTimestamp(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC),
		time.Date(1999, 1, 2, 3, 4, 5, 6, time.FixedZone("Y", -7200)),
	} {
		got := string(appendTimestamp(nil, at))
		back, err := time.Parse(time.RFC3339Nano, got)
		if err != nil || !back.Equal(at) {
			t.Errorf("%v -> %q (%v)", at, got, err)
		}
	}
}
