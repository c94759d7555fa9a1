package mq

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// DedupStore remembers which message IDs a consumer group handled. With
// WithDedup, a subscription claims a message's ID before running the
// handler, so that two deliveries of one ID (a duplicate publish, a
// redelivery racing the original) never run at once, marks it done after
// the handler succeeded, and releases the claim when the message is given
// up (dead-lettered, handed back). A store error is logged and the message
// handled anyway: at-least-once wins over exactly-once.
//
// NewMemoryDedup keeps IDs in process memory; redismq.NewDedup shares them
// across processes in Redis.
type DedupStore interface {
	// Claim records that owner starts handling id for group, unless group
	// handled id already (DedupDone) or another owner's claim on it is
	// live (DedupBusy). A claim lasts until Done, Release, or the store's
	// lease on it ends (so that a member that died does not hold it for
	// ever). owner's own live claim is granted again.
	Claim(ctx context.Context, group, id, owner string) (DedupState, error)
	// Done records that group handled id, ending any claim on it.
	Done(ctx context.Context, group, id string) error
	// Release ends owner's claim on id, if it holds one.
	Release(ctx context.Context, group, id, owner string) error
}

// DedupState is the answer of DedupStore.Claim.
type DedupState int

const (
	// DedupClaimed: the caller holds the claim and runs the handler.
	DedupClaimed DedupState = iota
	// DedupDone: the group handled the ID before; the message is
	// acknowledged without running the handler.
	DedupDone
	// DedupBusy: another delivery of the ID is being handled; the message
	// waits (the redelivery backoff, not counted as an attempt) and asks
	// again.
	DedupBusy
)

// MemoryDedup is a DedupStore in process memory: the IDs done, bounded by
// an LRU, and the claims in flight. It only dedups what this process
// handles.
type MemoryDedup struct {
	done *lru.Cache[string, struct{}]

	mu     sync.Mutex
	claims map[string]string // dedupKey -> owner
}

// NewMemoryDedup returns a store remembering the last size IDs done.
func NewMemoryDedup(size int) (*MemoryDedup, error) {
	if size < 1 {
		return nil, fmt.Errorf("%w: NewMemoryDedup(%d): size must be positive", ErrInvalid, size)
	}
	c, err := lru.New[string, struct{}](size)
	if err != nil {
		return nil, err
	}
	return &MemoryDedup{done: c, claims: map[string]string{}}, nil
}

func dedupKey(group, id string) string { return group + "\x00" + id }

// Claim implements DedupStore. Claims have no lease: they live in this
// process, which releases them itself.
func (m *MemoryDedup) Claim(_ context.Context, group, id, owner string) (DedupState, error) {
	k := dedupKey(group, id)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done.Contains(k) {
		return DedupDone, nil
	}
	if cur, ok := m.claims[k]; ok && cur != owner {
		return DedupBusy, nil
	}
	m.claims[k] = owner
	return DedupClaimed, nil
}

// Done implements DedupStore.
func (m *MemoryDedup) Done(_ context.Context, group, id string) error {
	k := dedupKey(group, id)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done.Add(k, struct{}{})
	delete(m.claims, k)
	return nil
}

// Release implements DedupStore.
func (m *MemoryDedup) Release(_ context.Context, group, id, owner string) error {
	k := dedupKey(group, id)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.claims[k] == owner {
		delete(m.claims, k)
	}
	return nil
}

// claim asks the dedup store, if any, whether d is to be handled: proceed
// (the claim is held), duplicate (done before: acknowledge it), or retry
// (busy elsewhere: wait and ask again, without counting an attempt).
func (s *Subscription) claim(kr *keyRun, d *driver.Delivery) (outcome, time.Duration) {
	store := s.c.opts.dedup
	if store == nil {
		return proceed, 0
	}
	// Each delivery claims under its own name: two deliveries of one ID
	// in this member must exclude each other too.
	owner := s.owner + "-" + strconv.FormatUint(s.claimSeq.Add(1), 36)
	st, err := store.Claim(s.work, s.group, d.ID, owner)
	if err == nil && st == DedupClaimed {
		s.mu.Lock()
		s.claims[d] = owner
		s.mu.Unlock()
	}
	if err != nil {
		s.c.opts.logger.Warn("mq: dedup claim failed; handling the message", "topic", s.topic, "id", d.ID, "err", err)
		return proceed, 0
	}
	switch st {
	case DedupDone:
		s.c.tel.conDedupe.add(1)
		return duplicate, 0
	case DedupBusy:
		if kr.bo == nil {
			kr.bo = retrying.NewBackOff(s.o.redelivery)
		}
		return retry, kr.bo.NextBackOff()
	}
	return proceed, 0
}

func (s *Subscription) dedupDone(d *driver.Delivery) {
	store := s.c.opts.dedup
	if store == nil {
		return
	}
	s.takeClaim(d)
	if err := store.Done(s.work, s.group, d.ID); err != nil {
		s.c.opts.logger.Warn("mq: dedup mark failed", "topic", s.topic, "id", d.ID, "err", err)
	}
}

// dedupRelease gives up d's dedup claim, if it holds one.
func (s *Subscription) dedupRelease(d *driver.Delivery) {
	store := s.c.opts.dedup
	if store == nil {
		return
	}
	owner := s.takeClaim(d)
	if owner == "" {
		return
	}
	if err := store.Release(s.work, s.group, d.ID, owner); err != nil {
		s.c.opts.logger.Debug("mq: dedup release failed; the claim ends with its lease", "topic", s.topic, "id", d.ID, "err", err)
	}
}

// takeClaim forgets and returns the name d's claim was made under.
func (s *Subscription) takeClaim(d *driver.Delivery) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner := s.claims[d]
	delete(s.claims, d)
	return owner
}

// releaseClaims gives up the dedup claims of handlers abandoned by
// Shutdown, so that the redelivered messages are not held up by them (a
// MemoryDedup claim has no lease to end it).
func (s *Subscription) releaseClaims(ctx context.Context) {
	store := s.c.opts.dedup
	s.mu.Lock()
	claims := s.claims
	s.claims = map[*driver.Delivery]string{}
	s.mu.Unlock()
	if store == nil || len(claims) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for d, owner := range claims {
		if err := store.Release(ctx, s.group, d.ID, owner); err != nil {
			s.c.opts.logger.Debug("mq: dedup release failed; the claim ends with its lease", "topic", s.topic, "id", d.ID, "err", err)
		}
	}
}
