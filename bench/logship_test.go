package bench

import (
	"context"
	"io"
	"log/slog"
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
// int, duration, bool) through the Shipper's handler (default redaction
// on, to a discarding Sink), slog's JSONHandler to io.Discard, and zap's
// production JSON core to a discarding WriteSyncer — in the same run.
//
//	cd bench && go test -run XXX -bench BenchmarkLogHandler -benchmem -count 5
func BenchmarkLogHandler(b *testing.B) {
	ctx := context.Background()
	b.Run("groundwork", func(b *testing.B) {
		s, err := logship.NewShipper(discardLogSink{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Shutdown(ctx)
		l := slog.New(s.Handler(&logship.HandlerOptions{Service: "bench", Redact: logship.DefaultRules()}))
		b.ReportAllocs()
		for b.Loop() {
			l.LogAttrs(ctx, slog.LevelInfo, "request served", slog.String("path", "/v1/orders/42"), slog.Int("status", 200), slog.Duration("took", 1500*time.Microsecond), slog.Bool("cached", true))
		}
	})
	b.Run("slog.JSONHandler", func(b *testing.B) {
		l := slog.New(slog.NewJSONHandler(io.Discard, nil))
		b.ReportAllocs()
		for b.Loop() {
			l.LogAttrs(ctx, slog.LevelInfo, "request served", slog.String("path", "/v1/orders/42"), slog.Int("status", 200), slog.Duration("took", 1500*time.Microsecond), slog.Bool("cached", true))
		}
	})
	b.Run("zap", func(b *testing.B) {
		core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zap.InfoLevel)
		l := zap.New(core)
		b.ReportAllocs()
		for b.Loop() {
			l.Info("request served", zap.String("path", "/v1/orders/42"), zap.Int("status", 200), zap.Duration("took", 1500*time.Microsecond), zap.Bool("cached", true))
		}
	})
}
