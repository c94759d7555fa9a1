package logship

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"
)

// TestReviewAlerterFloodOfServices: MaxServices bounds memory, but the
// services it tracked stayed tracked for ever: one burst of made-up
// service names (taken from input) filled the table, and every service
// seen after it — a new deploy, a renamed one — was ignored until the
// process restarted. Services idle for a whole window now give their
// place up when the table is full.
func TestReviewAlerterFloodOfServices(t *testing.T) {
	c := &alertClock{t: alertT0}
	a := NewAlerter(AlertOptions{Now: c.Now, Window: time.Minute, Buckets: 6, MaxServices: 3})
	if err := a.Err(); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for i := range 10 {
		a.Observe(fmt.Sprintf("junk-%d", i), slog.LevelInfo, alertT0)
	}
	a.Observe("busy", slog.LevelInfo, alertT0) // untracked: the table is full
	// Two windows later the junk has been idle for a whole window.
	for k := 1; k <= 14; k++ {
		now := alertT0.Add(time.Duration(k) * 10 * time.Second)
		c.Set(now)
		if _, err := a.Evaluate(context.Background(), now); err != nil {
			t.Fatal(err)
		}
	}
	a.Observe("real", slog.LevelError, c.Now())
	if _, ok := a.series.Load("real"); !ok {
		t.Fatal("a service seen after a flood of names is still not tracked")
	}
	if n := a.nseries.Load(); n > 3 {
		t.Fatalf("%d services tracked, MaxServices 3", n)
	}
}

// TestReviewAlerterKeepsActiveServices: eviction spares a service that
// logs, and takes nothing while the table has room.
func TestReviewAlerterKeepsActiveServices(t *testing.T) {
	c := &alertClock{t: alertT0}
	a := NewAlerter(AlertOptions{Now: c.Now, Window: time.Minute, Buckets: 6, MaxServices: 2})
	defer a.Close()
	a.Observe("idle", slog.LevelInfo, alertT0)
	for k := 1; k <= 14; k++ {
		now := alertT0.Add(time.Duration(k) * 10 * time.Second)
		c.Set(now)
		a.Observe("active", slog.LevelInfo, now)
		a.Evaluate(context.Background(), now)
	}
	if _, ok := a.series.Load("active"); !ok {
		t.Fatal("an active service was evicted")
	}
	c2 := &alertClock{t: alertT0}
	b := NewAlerter(AlertOptions{Now: c2.Now, Window: time.Minute, Buckets: 6, MaxServices: 5})
	defer b.Close()
	b.Observe("idle", slog.LevelInfo, alertT0)
	for k := 1; k <= 14; k++ {
		now := alertT0.Add(time.Duration(k) * 10 * time.Second)
		b.Evaluate(context.Background(), now)
	}
	if _, ok := b.series.Load("idle"); !ok {
		t.Fatal("an idle service was evicted from a table with room (its baseline lost for nothing)")
	}
}
