package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
)

// TestTour runs the tour as CI: it must work with no server, and the
// OpenTelemetry SDK it installs must have collected the packages' and the
// Go runtime's metrics. It reads what the tour prints and checks the
// greyroute step's routing: the pin, the rollout's tenants (a stable
// hash, so always the same ones) and the stable version's; and the
// logship step's record, redacted by the time a consumer reads it.
func TestTour(t *testing.T) {
	out := captureStdout(t)
	seen, err := run(context.Background())
	got := out()
	if err != nil {
		t.Fatalf("%v; output:\n%s", err, got)
	}
	for _, name := range []string{"mq.published", "mq.consumed", "lock.obtain.duration", "lock.obtain.retries", "lock.lost", "session.logins", "session.csrf.rejected", "session.login.throttle", "privilege.checks", "greyroute.admin.writes", "greyroute.picks", "logship.shipper.records", "go.memory.used", "go.goroutine.count", "go.schedule.duration"} {
		if !seen[name] {
			t.Errorf("metric %s was not collected; got %v", name, seen)
		}
	}
	want := `   acme     → v2 at 10.0.0.2:8080 (pinned)
   globex   → v1 at 10.0.0.1:8080 (stable)
   initech  → v1 at 10.0.0.1:8080 (stable)
   tyrell   → v2 at 10.0.0.2:8080 (in the rollout)
   soylent  → v2 at 10.0.0.2:8080 (in the rollout)
   hooli    → v1 at 10.0.0.1:8080 (stable)
`
	if !strings.Contains(got, want) {
		t.Errorf("the greyroute step did not print\n%s\noutput:\n%s", want, got)
	}
	// The logship step: what the consumer read is redacted.
	want = `   a consumer of the topic reads: info "order placed" customer=[REDACTED] card=[REDACTED] password=[REDACTED] service.name=checkout` + "\n"
	if !strings.Contains(got, want) {
		t.Errorf("the logship step did not print\n%s\noutput:\n%s", want, got)
	}
}

// captureStdout redirects os.Stdout, which the tour prints to, into a
// pipe until the returned function is called; that returns what was
// printed.
func captureStdout(t *testing.T) func() string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	var buf bytes.Buffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(&buf, r)
	}()
	restore := func() {
		if os.Stdout == w {
			os.Stdout = saved
			w.Close()
			<-copied
			r.Close()
		}
	}
	t.Cleanup(restore)
	return func() string {
		restore()
		return buf.String()
	}
}
