package session

import (
	"sync"
	"time"
)

// slideHints is what a RedisStore last saw of its sessions' deadlines.
// Most loads of a busy session would not move its idle deadline by a
// slide step (see sessions_load.lua); when the hint says so, LoadSession
// reads the hash with a plain HGETALL instead of running the load script,
// which costs Redis about a third more than the read alone. A hint can
// only lag the stored deadline (the script never moves it back, and a
// hash names one session for ever), so a stale hint at worst runs the
// script when a read would have done, never skips a slide that is due.
// Bounded: past slideHintsMax entries it starts over.
type slideHints struct {
	mu sync.Mutex
	m  map[string]slideHint // session hash -> deadlines
}

type slideHint struct {
	deadline, absolute time.Time
	idle               time.Duration
}

const slideHintsMax = 1 << 14

// readOnly reports whether a load of hash at now is known to need no
// write: the script would not slide its deadline. It mirrors the
// script's test exactly.
func (h *slideHints) readOnly(hash string, now time.Time) bool {
	h.mu.Lock()
	e, ok := h.m[hash]
	h.mu.Unlock()
	if !ok {
		return false
	}
	nd := now.Add(e.idle)
	if nd.After(e.absolute) {
		nd = e.absolute
	}
	step := time.Duration(e.idle.Milliseconds()/100) * time.Millisecond
	return !nd.After(e.deadline) || (nd.Sub(e.deadline) < step && !nd.Equal(e.absolute))
}

// saw records the deadlines of a record just loaded.
func (h *slideHints) saw(rec *Record) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil || len(h.m) >= slideHintsMax {
		h.m = make(map[string]slideHint)
	}
	h.m[rec.Ref.Hash] = slideHint{deadline: rec.IdleDeadline, absolute: rec.Absolute, idle: rec.Idle}
}

// forget drops hash's hint.
func (h *slideHints) forget(hash string) {
	h.mu.Lock()
	delete(h.m, hash)
	h.mu.Unlock()
}
