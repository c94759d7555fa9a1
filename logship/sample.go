package logship

import (
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync/atomic"
	"time"
)

// Sampling thins repetitive records: of the records with the same level
// and message, the first First in each Interval are kept, then one in
// every Thereafter (none when Thereafter is 0). Records at Error and above
// are never sampled away. The Shipper counts what sampling dropped.
//
// Counting is approximate in the way of zap's sampler: (level, message)
// pairs are hashed into 4096 counters, so two pairs that share a counter
// are thinned together. A record's own time decides its interval; a
// record stamped more than an interval before its counter's window (a
// clock stepped back, a window a future-stamped record began) starts a
// new one.
type Sampling struct {
	// First records per level and message per Interval are kept.
	First int
	// Thereafter: then one in every Thereafter is kept (0: none).
	Thereafter int
	// Interval is the counting window; 0 means one second.
	Interval time.Duration
}

func (s *Sampling) validate() error {
	switch {
	case s.First < 0:
		return fmt.Errorf("%w: Sampling.First is negative (%d)", ErrInvalid, s.First)
	case s.Thereafter < 0:
		return fmt.Errorf("%w: Sampling.Thereafter is negative (%d)", ErrInvalid, s.Thereafter)
	case s.Interval < 0:
		return fmt.Errorf("%w: Sampling.Interval is negative (%v)", ErrInvalid, s.Interval)
	case s.First == 0 && s.Thereafter == 0:
		return fmt.Errorf("%w: Sampling keeps nothing below Error (First and Thereafter are 0)", ErrInvalid)
	}
	return nil
}

const sampleSlots = 4096

type sampleCounter struct {
	resetAt atomic.Int64 // UnixNano when the current window ends
	n       atomic.Uint64
}

type sampler struct {
	first, thereafter uint64
	interval          int64
	seed              maphash.Seed
	slots             [sampleSlots]sampleCounter
}

func newSampler(s Sampling) *sampler {
	iv := s.Interval
	if iv == 0 {
		iv = time.Second
	}
	return &sampler{first: uint64(s.First), thereafter: uint64(s.Thereafter), interval: int64(iv), seed: maphash.MakeSeed()}
}

// allow counts a record of (level, msg) at time t and says whether it is kept.
func (s *sampler) allow(t time.Time, level slog.Level, msg string) bool {
	h := maphash.String(s.seed, msg) ^ uint64(int64(level))*0x9e3779b97f4a7c15
	c := &s.slots[h%sampleSlots]
	n := c.inc(t.UnixNano(), s.interval)
	if n <= s.first {
		return true
	}
	return s.thereafter > 0 && (n-s.first)%s.thereafter == 0
}

// inc counts one record at now, starting a new window when the current
// one has ended (the CAS makes one of racing callers the one to reset).
// A record from more than an interval before the window — the clock
// stepped back, or the window was started by a record stamped in the
// future — starts a new window too: otherwise the window would last until
// the clock caught up, and thin the message for all that time. A record a
// little late (less than an interval) counts in the current window.
func (c *sampleCounter) inc(now, interval int64) uint64 {
	end := c.resetAt.Load()
	if d := end - now; d > 0 && d <= 2*interval {
		return c.n.Add(1)
	}
	if !c.resetAt.CompareAndSwap(end, now+interval) {
		return c.n.Add(1)
	}
	c.n.Store(1)
	return 1
}
