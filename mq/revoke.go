package mq

import (
	"context"

	"github.com/groundwork-go/groundwork/mq/driver"
)

// revoke is the subscription's driver.RevokeFunc: the broker takes the
// deliveries matching taken away from this member (a Kafka rebalance, a
// lost Redis lease). Those not started are nacked at once, so the next
// owner gets them without waiting for this member's prefetch; those on a
// key a worker is handling are marked, and the worker hands them back when
// it reaches them (running handlers finish, or with lost see their context
// cancelled). It returns once every one is settled, or ctx ends.
func (s *Subscription) revoke(ctx context.Context, taken func(*driver.Delivery) bool, lost bool) {
	var back, release, marked []*driver.Delivery
	s.mu.Lock()
	ready := s.ready[:0]
	for _, kr := range s.ready {
		s.takeLocked(kr, taken, &back, &release)
		if len(kr.queue) > 0 {
			ready = append(ready, kr)
		} else {
			s.dropRunLocked(kr)
		}
	}
	clear(s.ready[len(ready):])
	s.ready = ready
	for kr := range s.retrying {
		if !s.takeLocked(kr, taken, &back, &release) {
			continue
		}
		// Its failed head was taken; the timer finds kr gone and does
		// nothing, whatever Stop reports.
		kr.timer.Stop()
		delete(s.retrying, kr)
		if len(kr.queue) > 0 {
			s.ready = append(s.ready, kr)
			s.wake.Signal()
		} else {
			s.dropRunLocked(kr)
		}
		// A draining pool waits for retrying to empty: wake it.
		s.wake.Broadcast()
	}
	for _, w := range s.workers {
		kr := w.cur
		if kr == nil {
			continue
		}
		hit := false
		for _, d := range kr.queue {
			if taken(d) {
				if _, dup := s.revoked[d]; !dup {
					s.revoked[d] = struct{}{}
					s.revoking.Add(1)
				}
				marked = append(marked, d)
				hit = true
			}
		}
		if hit && lost {
			w.cancel()
		}
	}
	s.mu.Unlock()
	s.handBack(back, release)
	if len(marked) == 0 {
		return
	}
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.revokeDone.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range marked {
		for s.isRevokedLocked(d) && ctx.Err() == nil && !s.abandoned.Load() {
			s.revokeDone.Wait()
		}
	}
}

// dropRunLocked forgets kr, emptied by a revocation. It is not reused: a
// timer it had may still fire.
func (s *Subscription) dropRunLocked(kr *keyRun) {
	if kr.key != "" && s.keys[kr.key] == kr {
		delete(s.keys, kr.key)
	}
}

// takeLocked moves the deliveries of kr's queue for which taken reports
// true to back, keeping the order of the rest, and reports whether the
// head was among them. A head that was tried already goes back with the
// number of its next attempt, and to release, for its dedup claim.
func (s *Subscription) takeLocked(kr *keyRun, taken func(*driver.Delivery) bool, back, release *[]*driver.Delivery) (headTaken bool) {
	q := kr.queue[:0]
	for i, d := range kr.queue {
		if !taken(d) {
			q = append(q, d)
			continue
		}
		if i == 0 {
			headTaken = true
			if kr.attempt > 0 {
				d.Attempt = max(d.Attempt, kr.attempt)
				*release = append(*release, d)
			}
		}
		*back = append(*back, d)
	}
	clear(kr.queue[len(q):])
	kr.queue = q
	if headTaken {
		kr.attempt, kr.bo = 0, nil
	}
	return headTaken
}

// handBack nacks deliveries taken from their keys' queues, releases the
// dedup claims of those tried already, and settles them.
func (s *Subscription) handBack(back, release []*driver.Delivery) {
	if len(back) == 0 {
		return
	}
	s.c.tel.conHandedBack.add(len(back))
	for _, d := range release {
		s.dedupRelease(d)
	}
	for _, d := range back {
		s.nack(d, 0)
		s.settled()
	}
	if s.revoking.Load() > 0 {
		s.mu.Lock()
		s.unmarkLocked(back)
		s.mu.Unlock()
	}
}

func (s *Subscription) isRevoked(d *driver.Delivery) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.isRevokedLocked(d)
}

func (s *Subscription) isRevokedLocked(d *driver.Delivery) bool {
	_, ok := s.revoked[d]
	return ok
}

// unmarkLocked clears the revocation marks of ds, which are settled, and
// wakes the revocations waiting for them.
func (s *Subscription) unmarkLocked(ds []*driver.Delivery) {
	n := 0
	for _, d := range ds {
		if _, ok := s.revoked[d]; ok {
			delete(s.revoked, d)
			n++
		}
	}
	if n > 0 {
		s.revoking.Add(int32(-n))
		s.revokeDone.Broadcast()
	}
}
