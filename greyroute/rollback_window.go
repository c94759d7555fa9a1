package greyroute

import "sync/atomic"

// A rollbackWindow counts the calls a Router picked on one service's
// rollout target, and their failures, over a sliding window: a ring of
// windowBuckets buckets, each a tenth of the window. Done adds to it with
// one compare-and-swap — no lock, no allocation.
//
// Each bucket is one word: the lap (how many times the ring has gone round,
// mod 2^16) in the top 16 bits, then failures and calls in 24 bits each.
// A bucket whose lap is not the current one (or, for a slot ahead of the
// current one, the previous one) is outside the window and reads as
// empty; the first add of a new lap starts it from zero in the same
// swap, so no count is lost to a race with the reset. Counts saturate at
// 2^24−1 per bucket. A bucket left untouched for exactly 2^16 laps would
// read as current again: 45 days at the default window, and windows live
// only as long as a rollout.
type rollbackWindow struct {
	service, version string
	width            int64 // ns per bucket: the window / windowBuckets
	since            int64 // the rollout it counts for: its rollout_since (Table.RolloutSince)

	buckets   [windowBuckets]atomic.Uint64
	tripped   atomic.Bool  // the rollback goroutine has been asked to act on it
	retired   atomic.Bool  // the version is no longer the service's rollout target
	notBefore atomic.Int64 // Unix ns: no trip before it (after a rollback that failed for good)
}

const (
	windowBuckets = 10
	countBits     = 24
	countMax      = 1<<countBits - 1
	lapShift      = 2 * countBits
	lapMask       = 1<<(64-lapShift) - 1
)

func newRollbackWindow(service, version string, window int64) *rollbackWindow {
	return &rollbackWindow{service: service, version: version, width: max(window/windowBuckets, 1)}
}

// at places the time now (Unix ns) in the ring: its lap and slot.
func (w *rollbackWindow) at(now int64) (lap uint64, slot int) {
	idx := max(now, 0) / w.width
	return uint64(idx/windowBuckets) & lapMask, int(idx % windowBuckets)
}

// add counts one call at now, failed or not.
func (w *rollbackWindow) add(now int64, failed bool) {
	lap, slot := w.at(now)
	b := &w.buckets[slot]
	for {
		old := b.Load()
		v := old
		if v>>lapShift != lap {
			v = lap << lapShift // a new lap: this bucket starts over
		}
		if v&countMax == countMax {
			if v == old {
				return // saturated
			}
		} else {
			v++
			if failed {
				v += 1 << countBits
			}
		}
		if b.CompareAndSwap(old, v) {
			return
		}
	}
}

// tally returns the calls and failures in the window ending at now.
func (w *rollbackWindow) tally(now int64) (calls, failures int64) {
	lap, cur := w.at(now)
	for s := range w.buckets {
		want := lap
		if s > cur {
			want = (lap - 1) & lapMask // the slot was last filled on the previous lap
		}
		v := w.buckets[s].Load()
		if v>>lapShift != want {
			continue
		}
		calls += int64(v & countMax)
		failures += int64(v >> countBits & countMax)
	}
	return calls, failures
}

// reset empties the window: after a rollback, its counts are history.
func (w *rollbackWindow) reset() {
	for s := range w.buckets {
		w.buckets[s].Store(0)
	}
}
