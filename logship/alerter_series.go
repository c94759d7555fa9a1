package logship

import (
	"math"
	"sync/atomic"
	"time"
)

// A bucket counter packs the bucket it counts for (the low tagBits of the
// bucket index) above the count, so that moving a slot on to a new bucket
// and counting in it is one compare-and-swap: no lock, and no count lost
// to a reset racing an increment. 40 bits count a trillion records a
// bucket; 24 bits of tag tell apart 16 million buckets (half a year of
// 1-second steps), so a slot left untouched that long is the only way to
// misread one.
const (
	tagBits   = 24
	countBits = 64 - tagBits
	countMask = 1<<countBits - 1
	tagMask   = 1<<tagBits - 1
)

func tagOf(k int64) uint64 { return uint64(k) & tagMask }

// bump adds one to c for bucket k, restarting c's count if it held an
// older bucket's.
func bump(c *atomic.Uint64, k int64) {
	tag := tagOf(k) << countBits
	for {
		v := c.Load()
		if v&^countMask == tag {
			// The common case: one atomic add, which cannot carry into
			// the tag before a trillion records.
			c.Add(1)
			return
		}
		if c.CompareAndSwap(v, tag|1) {
			return
		}
	}
}

// countAt is c's count for bucket k, 0 when c holds another bucket's.
func countAt(c *atomic.Uint64, k int64) int64 {
	v := c.Load()
	if v>>countBits != tagOf(k) {
		return 0
	}
	return int64(v & countMask)
}

// alertSeries is one service's counts, a ring of buckets, and its
// baseline.
type alertSeries struct {
	// slots holds Buckets+2 buckets: the window's, the current one
	// Observe writes, and the next, where a record a little ahead of the
	// evaluations' clock lands — so that no write reaches the window
	// being measured.
	slots []alertSlot
	base  baseline // guarded by Alerter.evalMu
}

type alertSlot struct {
	total, errors atomic.Uint64
}

func newAlertSeries(buckets int) *alertSeries {
	return &alertSeries{slots: make([]alertSlot, buckets+2)}
}

func (s *alertSeries) slot(k int64) *alertSlot {
	n := int64(len(s.slots))
	return &s.slots[((k%n)+n)%n]
}

func (s *alertSeries) add(k int64, isError bool) {
	sl := s.slot(k)
	bump(&sl.total, k)
	if isError {
		bump(&sl.errors, k)
	}
}

// window sums the buckets k-buckets to k-1.
func (s *alertSeries) window(k int64, buckets int) (total, errs int64) {
	for j := k - int64(buckets); j < k; j++ {
		sl := s.slot(j)
		total += countAt(&sl.total, j)
		errs += countAt(&sl.errors, j)
	}
	return total, errs
}

// idle reports whether s holds no record in any bucket from the window
// ending before k to the step after k.
func (s *alertSeries) idle(k int64, buckets int) bool {
	total, _ := s.window(k+2, buckets+2)
	return total == 0
}

// baseline is an exponentially weighted mean and variance of a series'
// window rates, and its alert state.
type baseline struct {
	mean, variance float64
	samples        int       // windows learned since the start or a relearn
	lastAlert      time.Time // zero: never alerted
	anomalousSince time.Time // zero: the last judged window was normal
}

// learn folds rate into the baseline with weight alpha (the first rate
// is taken as it is).
func (b *baseline) learn(rate, alpha float64) {
	if b.samples == 0 {
		b.mean, b.variance = rate, 0
	} else {
		d := rate - b.mean
		inc := alpha * d
		b.mean += inc
		b.variance = (1 - alpha) * (b.variance + d*inc)
	}
	b.samples++
}

// stddev is the deviation a window of volume records is judged in: the
// baseline's own, but no less than the sampling noise of a binomial rate
// at that volume (few records make a jumpy rate), nor than floor.
func (b *baseline) stddev(volume int64, floor float64) float64 {
	sd := math.Sqrt(b.variance)
	p := b.mean
	if noise := math.Sqrt(p * (1 - p) / float64(volume)); noise > sd {
		sd = noise
	}
	if floor > sd {
		sd = floor
	}
	if sd <= 0 {
		// Only with MinStdDev < 0, which Validate refuses; a tiny floor
		// keeps z finite regardless.
		sd = 1e-9
	}
	return sd
}
