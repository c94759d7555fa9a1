package bench

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/groundwork-go/groundwork/logship"
)

// discardLogSink accepts every batch: the cost measured is the handler's
// and the Shipper's copy, not a store's.
type discardLogSink struct{}

func (discardLogSink) Write(context.Context, []logship.Record) (logship.Result, error) {
	return logship.Result{}, nil
}
func (discardLogSink) Close(context.Context) error { return nil }

// BenchmarkLogHandler: one record with the same 4 attributes (string,
// int, duration, bool) through the Shipper's handler, slog's JSONHandler
// to io.Discard, and zap's production JSON core to a discarding
// WriteSyncer — in the same run.
//
// "groundwork" is the whole real pipeline, not the encoder alone: a
// slog.Logger over the Shipper's Handler with DefaultRules redaction, the
// ECS encoding, submit's copy (the one allocation) and the queue push on
// the logging goroutine; the Shipper's own goroutine taking batches of
// 1,000 and delivering them to a discarding Sink, concurrently (on the
// machine's other core, when it has one), and the GC of the copies. The
// queue (1<<17 records, 64 MiB) blocks rather than drops when full, and
// the benchmark fails if any record was dropped: a dropped record would
// cost less than a delivered one. ns/op is the logging call's wall time
// (Shutdown outside it); cpu-ns/op is the process's CPU time per record,
// every goroutine and the GC included, up to the end of Shutdown for
// groundwork (every record delivered) — on a loaded machine the steadier
// of the two, as time spent descheduled does not count.
//
//	cd bench && go test -run x -bench LogHandler -benchmem -count 6
func BenchmarkLogHandler(b *testing.B) {
	ctx := context.Background()
	b.Run("groundwork", func(b *testing.B) {
		s, dropped := benchShipper(b)
		l := slog.New(s.Handler(&logship.HandlerOptions{Service: "bench", Redact: logship.DefaultRules()}))
		b.ReportAllocs()
		cpu := startLogCPU()
		for b.Loop() {
			l.LogAttrs(ctx, slog.LevelInfo, "request served", slog.String("path", "/v1/orders/42"), slog.Int("status", 200), slog.Duration("took", 1500*time.Microsecond), slog.Bool("cached", true))
		}
		b.StopTimer()
		if err := s.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
		cpu.report(b)
		if n := dropped.Load(); n > 0 {
			b.Fatalf("%d of %d records dropped: the measure would flatter the handler", n, b.N)
		}
	})
	b.Run("slog.JSONHandler", func(b *testing.B) {
		l := slog.New(slog.NewJSONHandler(io.Discard, nil))
		b.ReportAllocs()
		cpu := startLogCPU()
		for b.Loop() {
			l.LogAttrs(ctx, slog.LevelInfo, "request served", slog.String("path", "/v1/orders/42"), slog.Int("status", 200), slog.Duration("took", 1500*time.Microsecond), slog.Bool("cached", true))
		}
		cpu.report(b)
	})
	b.Run("zap", func(b *testing.B) {
		core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zap.InfoLevel)
		l := zap.New(core)
		b.ReportAllocs()
		cpu := startLogCPU()
		for b.Loop() {
			l.Info("request served", zap.String("path", "/v1/orders/42"), zap.Int("status", 200), zap.Duration("took", 1500*time.Microsecond), zap.Bool("cached", true))
		}
		cpu.report(b)
	})
}

// logCPU is the process's CPU time at the start of a measure.
type logCPU time.Duration

func startLogCPU() logCPU {
	t, _ := processCPU()
	return logCPU(t)
}

// report adds cpu-ns/op: the process's CPU time since the mark, per op.
func (m logCPU) report(b *testing.B) {
	if t, ok := processCPU(); ok && b.N > 0 {
		b.ReportMetric(float64(t-time.Duration(m))/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkLogHandlerCore: the handler's own cost per record, as the
// issue sets its target, without a logger front end: slog.Logger calls
// runtime.Callers and time.Now for every record, zap's Logger neither,
// so the lines above compare the front ends too. Here each side gets a
// record built once before the loop — a slog.Record for the Handlers, a
// zapcore.Entry and its Fields for zap's JSON core — with the same 4
// attributes and a fixed time, and encodes it to a discarding
// destination: "groundwork" is Handler.Handle through the real engine
// (DefaultRules redaction, the ECS encoding, submit's copy and queue
// push, the Shipper's goroutine delivering batches of 1,000 to a
// discarding Sink, the GC of the copies, up to the end of Shutdown in
// cpu-ns/op); zap is core.Write to io.Discard; slog.JSONHandler.Handle
// for reference.
//
//	cd bench && go test -run x -bench LogHandler -benchmem -count 6
func BenchmarkLogHandlerCore(b *testing.B) {
	ctx := context.Background()
	at := time.Now()
	rec := slog.NewRecord(at, slog.LevelInfo, "request served", 0)
	rec.AddAttrs(slog.String("path", "/v1/orders/42"), slog.Int("status", 200), slog.Duration("took", 1500*time.Microsecond), slog.Bool("cached", true))
	b.Run("groundwork", func(b *testing.B) {
		s, dropped := benchShipper(b)
		h := s.Handler(&logship.HandlerOptions{Service: "bench", Redact: logship.DefaultRules()})
		b.ReportAllocs()
		cpu := startLogCPU()
		for b.Loop() {
			if err := h.Handle(ctx, rec); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if err := s.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
		cpu.report(b)
		if n := dropped.Load(); n > 0 {
			b.Fatalf("%d of %d records dropped: the measure would flatter the handler", n, b.N)
		}
	})
	b.Run("slog.JSONHandler", func(b *testing.B) {
		h := slog.NewJSONHandler(io.Discard, nil)
		b.ReportAllocs()
		cpu := startLogCPU()
		for b.Loop() {
			if err := h.Handle(ctx, rec); err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(b)
	})
	b.Run("zap", func(b *testing.B) {
		core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zap.InfoLevel)
		ent := zapcore.Entry{Level: zapcore.InfoLevel, Time: at, Message: "request served"}
		fields := []zapcore.Field{zap.String("path", "/v1/orders/42"), zap.Int("status", 200), zap.Duration("took", 1500*time.Microsecond), zap.Bool("cached", true)}
		b.ReportAllocs()
		cpu := startLogCPU()
		for b.Loop() {
			if err := core.Write(ent, fields); err != nil {
				b.Fatal(err)
			}
		}
		cpu.report(b)
	})
}

// benchShipper is the Shipper both handler benchmarks log through: a
// queue that blocks rather than drops (a dropped record is cheaper than a
// delivered one and would flatter the figure), batches of 1,000 to a
// discarding Sink. dropped counts what it gave up all the same.
func benchShipper(b *testing.B) (*logship.Shipper, *atomic.Int64) {
	dropped := new(atomic.Int64)
	s, err := logship.NewShipper(discardLogSink{},
		logship.WithQueue(1<<17, logship.Block(time.Minute)),
		logship.WithQueueBytes(64<<20),
		logship.WithBatch(1000, 4<<20, 100*time.Millisecond),
		logship.WithErrorHandler(func(error) { dropped.Add(1) }))
	if err != nil {
		b.Fatal(err)
	}
	return s, dropped
}
