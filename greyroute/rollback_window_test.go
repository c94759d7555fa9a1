package greyroute

import (
	"sync"
	"testing"
	"time"
)

// TestRollbackWindow: calls count for one window, sliding in tenths; a
// bucket reused on a later lap starts from zero; counts saturate instead
// of overflowing into the failures or the lap.
func TestRollbackWindow(t *testing.T) {
	const window = int64(time.Minute)
	w := newRollbackWindow("s", "v2", window)
	width := window / windowBuckets
	t0 := int64(1_800_000_000_000) * int64(time.Millisecond)
	check := func(at, wantCalls, wantFailures int64) {
		t.Helper()
		if c, f := w.tally(at); c != wantCalls || f != wantFailures {
			t.Fatalf("tally at t0%+v: %d calls %d failures, want %d, %d", time.Duration(at-t0), c, f, wantCalls, wantFailures)
		}
	}
	w.add(t0, true)
	w.add(t0, false)
	w.add(t0+3*width, true)
	check(t0, 2, 1)
	check(t0+3*width, 3, 2)
	check(t0+window-1, 3, 2)
	check(t0+window+width-1, 1, 1) // t0's bucket has left the window
	check(t0+window+4*width, 0, 0)
	w.add(t0+window, false) // t0's slot, one lap on: starts over
	check(t0+window, 2, 1)
	check(t0+5*window, 0, 0)
	w.reset()
	check(t0+window, 0, 0)

	w.buckets[0].Store(countMax - 1)
	w.add(0, true)
	w.add(0, true)
	if c, f := w.tally(0); c != countMax || f != 1 {
		t.Fatalf("saturated bucket: %d calls %d failures, want %d, 1", c, f, countMax)
	}
}

// TestRollbackWindowConcurrent: concurrent adds are all counted (run
// with -race).
func TestRollbackWindowConcurrent(t *testing.T) {
	w := newRollbackWindow("s", "v2", int64(time.Minute))
	now := time.Now().UnixNano()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				w.add(now, (i+g)%4 == 0)
			}
		})
	}
	wg.Wait()
	if c, f := w.tally(now); c != 8000 || f != 2000 {
		t.Fatalf("%d calls %d failures, want 8000, 2000", c, f)
	}
}
