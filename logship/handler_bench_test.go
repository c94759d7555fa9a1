package logship

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"
)

// discardSink accepts everything.
type discardSink struct{}

func (discardSink) Write(context.Context, []Record) (Result, error) { return Result{}, nil }
func (discardSink) Close(context.Context) error                     { return nil }

func benchLogger(b *testing.B, rules []Rule, throughShipper bool) *slog.Logger {
	// A queue that blocks rather than drops: a dropped record would cost
	// less than a delivered one.
	s, err := NewShipper(discardSink{}, WithQueue(1<<17, Block(time.Minute)), WithQueueBytes(64<<20), WithBatch(1000, 4<<20, 100*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	h := s.Handler(&HandlerOptions{Service: "bench", Redact: rules}).(*handler)
	if !throughShipper {
		h.c.submit = func(context.Context, Record, int) {} // the handler alone
	}
	return slog.New(h)
}

// BenchmarkHandler: one record with 4 attributes (string, int, duration,
// bool), with and without the default redaction; "handler" is the
// encoding alone, "shipper" adds the Shipper's submit (the copy, the
// queue push) and its goroutine delivering batches of 1,000 to a
// discarding Sink, concurrently. bench/ has the same run against zap.
func BenchmarkHandler(b *testing.B) {
	for _, c := range []struct {
		name    string
		rules   []Rule
		shipper bool
	}{
		{"handler/plain", nil, false},
		{"handler/redacted", DefaultRules(), false},
		{"shipper/plain", nil, true},
		{"shipper/redacted", DefaultRules(), true},
	} {
		b.Run(c.name, func(b *testing.B) {
			l := benchLogger(b, c.rules, c.shipper)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				l.LogAttrs(ctx, slog.LevelInfo, "request served", slog.String("path", "/v1/orders/42"), slog.Int("status", 200), slog.Duration("took", 1500*time.Microsecond), slog.Bool("cached", true))
			}
		})
	}
	b.Run("slog.JSONHandler", func(b *testing.B) {
		l := slog.New(slog.NewJSONHandler(io.Discard, nil))
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			l.LogAttrs(ctx, slog.LevelInfo, "request served", slog.String("path", "/v1/orders/42"), slog.Int("status", 200), slog.Duration("took", 1500*time.Microsecond), slog.Bool("cached", true))
		}
	})
}

// BenchmarkWriter: one plain line through Writer.
func BenchmarkWriter(b *testing.B) {
	s, _ := NewShipper(discardSink{})
	w := s.Writer("bench")
	line := []byte("2026/11/30 10:00:00 GET /v1/orders/42 200 1.5ms\n")
	b.ReportAllocs()
	for b.Loop() {
		_, _ = w.Write(line)
	}
}
