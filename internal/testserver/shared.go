package testserver

import (
	"os"
	"sync"
	"testing"
)

// Shared is a set of servers that a package's tests share, for tests that
// each need the same costly set-up (a Redis Cluster takes over two seconds
// to form: its masters refuse to turn writable sooner) and can tell their
// data apart. The first test that calls Get starts it; TestMain stops it
// once the package's tests are done:
//
//	var servers = testserver.NewShared(func(t testing.TB) *Redis { return StartRedis(t, nil) })
//
//	func TestMain(m *testing.M) { goleak.VerifyTestMain(servers.StopAfter(m)) }
type Shared[T any] struct {
	start func(testing.TB) T

	once    sync.Once
	val     T
	started bool
	c       cleanups
}

// cleanups are what a Shared's start registered, to run at Stop.
type cleanups struct {
	mu sync.Mutex
	fs []func()
}

// NewShared returns a Shared that start builds. start is given a
// testing.TB whose Cleanup and TempDir last until Stop, and whose failure
// fails the test that called Get first.
func NewShared[T any](start func(t testing.TB) T) *Shared[T] {
	return &Shared[T]{start: start}
}

// Get returns the shared servers, starting them with t on the first call.
// If that start failed (or skipped), every later Get fails t too under
// CI=true, or skips it: no test runs without its servers.
func (s *Shared[T]) Get(t testing.TB) T {
	t.Helper()
	s.once.Do(func() {
		s.val = s.start(&sharedTB{TB: t, c: &s.c})
		s.started = true
	})
	if !s.started {
		Unavailable(t, "testserver: the shared servers did not start (see the first test that asked for them)")
	}
	return s.val
}

// Stop runs the cleanups that the start registered, last first, as
// testing does.
func (s *Shared[T]) Stop() {
	s.c.mu.Lock()
	cs := s.c.fs
	s.c.fs = nil
	s.c.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

// StopAfter wraps m so that Stop runs after the package's tests, before
// goleak (given the result) looks for goroutines left behind.
func (s *Shared[T]) StopAfter(m interface{ Run() int }) interface{ Run() int } {
	return runThen{m, s.Stop}
}

type runThen struct {
	m     interface{ Run() int }
	after func()
}

func (r runThen) Run() int {
	defer r.after()
	return r.m.Run()
}

// sharedTB is the first caller's testing.TB, but for what must outlive
// that test: Cleanup and TempDir.
type sharedTB struct {
	testing.TB
	c *cleanups
}

func (tb *sharedTB) Cleanup(f func()) {
	tb.c.mu.Lock()
	defer tb.c.mu.Unlock()
	tb.c.fs = append(tb.c.fs, f)
}

func (tb *sharedTB) TempDir() string {
	tb.Helper()
	dir, err := os.MkdirTemp("", "groundwork-shared-")
	if err != nil {
		tb.Fatalf("testserver: shared temp dir: %v", err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
