package logship

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// TestReviewSamplingClockJumps: a record stamped far in the future (a
// skewed clock, a replayed record) pushed its counter's window end that
// far ahead, and a clock stepped back did the same: every later record of
// that message counted in one endless window, so past First all were
// dropped (with Thereafter 0) until the clock caught up — for ever, for
// a record stamped in year 9999.
func TestReviewSamplingClockJumps(t *testing.T) {
	for name, jump := range map[string]time.Duration{
		"future record":      24 * time.Hour * 365 * 100,
		"clock stepped back": -time.Hour,
	} {
		t.Run(name, func(t *testing.T) {
			h, c := reviewHandler(t, &HandlerOptions{Service: "svc", Sample: &Sampling{First: 1, Interval: time.Second}})
			t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			emit := func(at time.Time) {
				_ = h.Handle(context.Background(), slog.NewRecord(at, slog.LevelInfo, "hot", 0))
			}
			if jump > 0 {
				emit(t0.Add(jump))
				for i := 1; i <= 5; i++ { // one per second: each in its own interval
					emit(t0.Add(time.Duration(i) * time.Second))
				}
			} else {
				for i := 1; i <= 5; i++ {
					emit(t0.Add(time.Duration(i) * time.Second))
				}
				for i := 1; i <= 5; i++ {
					emit(t0.Add(jump + time.Duration(i)*time.Second))
				}
			}
			c.mu.Lock()
			n := len(c.docs)
			c.mu.Unlock()
			if want := 6; jump > 0 && n != want || jump < 0 && n != 10 {
				t.Fatalf("%d records kept, want one per interval", n)
			}
		})
	}
}
