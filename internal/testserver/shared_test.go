package testserver

import (
	"os"
	"testing"
)

// TestShared: the start runs once, for the first Get; what it registers
// (a temp dir, cleanups) outlives the test that started it and goes at
// Stop, last registered first.
func TestShared(t *testing.T) {
	starts := 0
	var order []int
	var dir string
	s := NewShared(func(t testing.TB) int {
		starts++
		dir = t.TempDir()
		t.Cleanup(func() { order = append(order, 1) })
		t.Cleanup(func() { order = append(order, 2) })
		return 42
	})
	t.Run("first", func(t *testing.T) {
		if v := s.Get(t); v != 42 {
			t.Fatalf("Get: %d", v)
		}
	})
	t.Run("second", func(t *testing.T) {
		if v := s.Get(t); v != 42 || starts != 1 {
			t.Fatalf("Get: %d after %d starts, want 42 after 1", v, starts)
		}
		if _, err := os.Stat(dir); err != nil || len(order) != 0 {
			t.Fatalf("the first test's end cleaned up: %v, cleanups %v", err, order)
		}
	})
	s.Stop()
	if _, err := os.Stat(dir); !os.IsNotExist(err) || len(order) != 2 || order[0] != 2 {
		t.Fatalf("after Stop: dir %v, cleanups ran %v: want the dir gone and [2 1]", err, order)
	}
}

// TestSharedStartFailed: once the start failed, no later test runs
// without the servers: Get stops it (a skip here, with CI unset; a
// failure under CI=true).
func TestSharedStartFailed(t *testing.T) {
	t.Setenv("CI", "")
	s := NewShared(func(t testing.TB) int { t.SkipNow(); return 1 })
	t.Run("first", func(t *testing.T) { s.Get(t) })
	reached := false
	t.Run("later", func(t *testing.T) {
		s.Get(t)
		reached = true
	})
	if reached {
		t.Fatal("a later Get returned after the start failed")
	}
}
