package main

import (
	"context"
	"testing"
)

// TestTour runs the tour as CI: it must work with no server, and the
// OpenTelemetry SDK it installs must have collected the packages' and the
// Go runtime's metrics.
func TestTour(t *testing.T) {
	seen, err := run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mq.published", "mq.consumed", "lock.obtain.duration", "lock.obtain.retries", "lock.lost", "session.logins", "session.csrf.rejected", "session.login.throttle", "privilege.checks", "go.memory.used", "go.goroutine.count", "go.schedule.duration"} {
		if !seen[name] {
			t.Errorf("metric %s was not collected; got %v", name, seen)
		}
	}
}
