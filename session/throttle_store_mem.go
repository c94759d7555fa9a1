package session

import (
	"context"
	"time"
)

// memThrottle is MemoryStore's throttle state.
type memThrottle struct {
	keys  map[string]throttleRec
	steps int // attempts since the last sweep of expired keys
}

// lockThrottle locks s for a throttle call, or returns ctx's error or
// ErrClosed with s unlocked.
func (s *MemoryStore) lockThrottle(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.throttle.keys == nil {
		s.throttle.keys = make(map[string]throttleRec)
	}
	return nil
}

// ThrottleAttempt implements ThrottleStore.
func (s *MemoryStore) ThrottleAttempt(ctx context.Context, key string, now time.Time, p ThrottlePolicy, challenged bool) (ThrottleState, error) {
	if err := s.lockThrottle(ctx); err != nil {
		return ThrottleState{}, err
	}
	defer s.mu.Unlock()
	t := &s.throttle
	ms := now.UnixMilli()
	// Usernames an attacker sprays would otherwise pile up for ever.
	if t.steps++; t.steps >= 1024 {
		t.steps = 0
		for k, r := range t.keys {
			if r.expires <= ms {
				delete(t.keys, k)
			}
		}
	}
	r, ok := t.keys[key]
	if ok && r.expires <= ms {
		r = throttleRec{}
	}
	r, st := throttleStep(r, ms, p, challenged)
	if st == ThrottleAllowed || st == ThrottleLast {
		t.keys[key] = r
	}
	return r.state(st), nil
}

// ThrottleReset implements ThrottleStore.
func (s *MemoryStore) ThrottleReset(ctx context.Context, key string) error {
	if err := s.lockThrottle(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	delete(s.throttle.keys, key)
	return nil
}

// ThrottleForgive implements ThrottleStore.
func (s *MemoryStore) ThrottleForgive(ctx context.Context, key string, at time.Time, p ThrottlePolicy, got ThrottleState) error {
	if err := s.lockThrottle(ctx); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if r, ok := s.throttle.keys[key]; ok {
		if r, ok = throttleForgive(r, at.UnixMilli(), p, got); ok {
			s.throttle.keys[key] = r
		}
	}
	return nil
}
