//go:build linux || darwin

package logship

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"syscall"
	"testing"
	"time"
)

// stageCPU is the process's CPU time (every goroutine and the GC).
func stageCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stageGC is the GC's CPU time so far, as the runtime estimates it.
func stageGC() float64 {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64 {
		return 0
	}
	return s[0].Value.Float64() * 1e9
}

var stageKeep Record // defeats dead-code elimination of the copy

// BenchmarkHandleStages attributes the cost of Handle on a built record
// (bench's LogHandlerCore/groundwork) stage by stage, each stage adding
// one piece of the pipeline to the one before:
//
//	encode   the ECS encoding, no redaction, submit a no-op
//	redact   + DefaultRules
//	copy     + submit's copy (copyRecord), kept in a global
//	push     + the queue push; the batches are taken inline every 1,000
//	         records on the logging goroutine (no delivery goroutine)
//	engine   the real Shipper: push, and its goroutine delivering batches
//	         of 1,000 to a discarding Sink, up to the end of Shutdown
//
// cpu-ns/op is the process's CPU per record, GC included; gc-ns/op the
// GC's share of it (the runtime's estimate, runtime/metrics):
//
//	go test -run x -bench HandleStages -benchmem -count 6
func BenchmarkHandleStages(b *testing.B) {
	ctx := context.Background()
	rec := slog.NewRecord(time.Now(), slog.LevelInfo, "request served", 0)
	rec.AddAttrs(slog.String("path", "/v1/orders/42"), slog.Int("status", 200), slog.Duration("took", 1500*time.Microsecond), slog.Bool("cached", true))
	newShipper := func(b *testing.B) *Shipper {
		s, err := NewShipper(discardSink{}, WithQueue(1<<17, Block(time.Minute)), WithQueueBytes(64<<20), WithBatch(1000, 4<<20, 100*time.Millisecond))
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	run := func(b *testing.B, h *handler, s *Shipper) {
		b.ReportAllocs()
		start, gc := stageCPU(), stageGC()
		for b.Loop() {
			_ = h.Handle(ctx, rec)
		}
		if s != nil {
			if err := s.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
			if n := s.tel.accepted.Load(); n != int64(b.N) {
				b.Fatalf("%d of %d records accepted", n, b.N)
			}
		}
		b.ReportMetric(float64(stageCPU()-start)/float64(b.N), "cpu-ns/op")
		b.ReportMetric((stageGC()-gc)/float64(b.N), "gc-ns/op")
	}
	for _, st := range []struct {
		name  string
		rules []Rule
	}{{"encode", nil}, {"redact", DefaultRules()}} {
		b.Run(st.name, func(b *testing.B) {
			s := newShipper(b)
			defer s.Shutdown(ctx)
			h := s.Handler(&HandlerOptions{Service: "bench", Redact: st.rules}).(*handler)
			h.c.submit = func(context.Context, Record, int) {}
			run(b, h, nil)
		})
	}
	b.Run("copy", func(b *testing.B) {
		s := newShipper(b)
		defer s.Shutdown(ctx)
		h := s.Handler(&HandlerOptions{Service: "bench", Redact: DefaultRules()}).(*handler)
		h.c.submit = func(_ context.Context, r Record, idAt int) { stageKeep = copyRecord(r, idAt) }
		run(b, h, nil)
	})
	b.Run("push", func(b *testing.B) {
		s := newShipper(b)
		defer s.Shutdown(ctx)
		h := s.Handler(&HandlerOptions{Service: "bench", Redact: DefaultRules()}).(*handler)
		q := newQueue(&s.o) // a queue of its own: the Shipper's goroutine never sees it
		var batch []Record
		h.c.submit = func(ctx context.Context, r Record, idAt int) {
			if _, ok, _, _ := q.push(ctx, copyRecord(r, idAt), s.o.policy, false); !ok {
				b.Fatal("push refused")
			}
			if q.pushed%1000 == 0 {
				batch = q.take(batch[:0], 1000, 4<<20)
				clear(batch)
			}
		}
		run(b, h, nil)
	})
	b.Run("engine", func(b *testing.B) {
		s := newShipper(b)
		h := s.Handler(&HandlerOptions{Service: "bench", Redact: DefaultRules()}).(*handler)
		run(b, h, s)
	})
	// The same in a process with a 256 MiB live heap (a ballast without
	// pointers, never scanned): the GC runs ~60 times less often than at
	// the benchmark's few MiB, as it would in most services.
	b.Run("engine-256MiB-heap", func(b *testing.B) {
		ballast := make([]byte, 256<<20)
		defer runtime.KeepAlive(ballast)
		runtime.GC()
		s := newShipper(b)
		h := s.Handler(&HandlerOptions{Service: "bench", Redact: DefaultRules()}).(*handler)
		run(b, h, s)
	})
}
