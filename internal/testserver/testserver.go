// Package testserver starts the real servers the test suites need, on
// loopback and free ports, and stops them when the test ends.
//
// A server that cannot be had (binary missing) skips the test with the
// reason when run by hand, and fails it when CI=true: CI never passes by
// skipping. An environment variable (GROUNDWORK_REDIS_URL, ...) points the
// tests at a server the user runs instead.
package testserver

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

// Unavailable skips t, or fails it under CI=true, explaining why the
// server cannot be had.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s", msg)
	}
	t.Skip(msg)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testserver: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitFor polls cond until it holds, failing t if it does not within
// patience: tests wait on events with generous deadlines, never on fixed
// sleeps.
func WaitFor(t testing.TB, patience time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", patience, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// PauseProcess stops p (SIGSTOP) as a hung process would be, for tests of
// what happens to its peers; an error where the platform cannot.
func PauseProcess(p *os.Process) error { return pause(p) }

// ResumeProcess continues p after PauseProcess.
func ResumeProcess(p *os.Process) error { return resume(p) }
