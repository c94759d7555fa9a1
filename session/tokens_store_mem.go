package session

import (
	"context"
	"errors"
	"sync"
	"time"
)

// memTokens is MemoryStore's token state.
type memTokens struct {
	versions map[string]int64
	bumps    map[string]time.Time // userID -> until: what snapshots list
	denied   map[string]time.Time // jti -> until
	families map[string]*memFamily
	subs     map[*memRevSub]struct{}
	writes   int // since the last sweep
}

type memFamily struct {
	current string // "" once revoked
	until   time.Time
}

func (t *memTokens) init() {
	if t.versions == nil {
		t.versions = map[string]int64{}
		t.bumps = map[string]time.Time{}
		t.denied = map[string]time.Time{}
		t.families = map[string]*memFamily{}
		t.subs = map[*memRevSub]struct{}{}
	}
}

// sweep forgets what has expired, once per as many writes as there are
// entries: memory stays proportional to the live tokens.
func (t *memTokens) sweep(now time.Time) {
	t.writes++
	if t.writes < len(t.bumps)+len(t.denied)+len(t.families) {
		return
	}
	t.writes = 0
	for u, until := range t.bumps {
		if now.After(until) {
			delete(t.bumps, u)
		}
	}
	for j, until := range t.denied {
		if now.After(until) {
			delete(t.denied, j)
		}
	}
	for f, fam := range t.families {
		if now.After(fam.until) {
			delete(t.families, f)
		}
	}
}

// tokensLocked locks s and returns its token state, or ErrClosed.
func (s *MemoryStore) tokensLocked() (*memTokens, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	s.tokens.init()
	return &s.tokens, nil
}

func (t *memTokens) publish(r Revocation) {
	for sub := range t.subs {
		sub.push(r)
	}
}

// TokenVersion implements TokenStore.
func (s *MemoryStore) TokenVersion(ctx context.Context, userID string) (int64, error) {
	t, err := s.tokensLocked()
	if err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	return t.versions[userID], nil
}

// BumpTokenVersion implements TokenStore.
func (s *MemoryStore) BumpTokenVersion(ctx context.Context, userID string, until time.Time) (int64, error) {
	t, err := s.tokensLocked()
	if err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	t.sweep(time.Now())
	t.versions[userID]++
	if until.After(t.bumps[userID]) {
		t.bumps[userID] = until
	}
	v := t.versions[userID]
	t.publish(Revocation{UserID: userID, Version: v, Until: t.bumps[userID]})
	return v, nil
}

// DenyToken implements TokenStore.
func (s *MemoryStore) DenyToken(ctx context.Context, jti string, until time.Time) error {
	t, err := s.tokensLocked()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	t.sweep(time.Now())
	if until.After(t.denied[jti]) {
		t.denied[jti] = until
	}
	t.publish(Revocation{JTI: jti, Until: t.denied[jti]})
	return nil
}

// CheckToken implements TokenStore.
func (s *MemoryStore) CheckToken(ctx context.Context, userID, jti string) (int64, bool, error) {
	t, err := s.tokensLocked()
	if err != nil {
		return 0, false, err
	}
	defer s.mu.Unlock()
	until, denied := t.denied[jti]
	return t.versions[userID], denied && !time.Now().After(until), nil
}

// StartFamily implements TokenStore.
func (s *MemoryStore) StartFamily(ctx context.Context, family, jti string, until time.Time) error {
	t, err := s.tokensLocked()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	t.sweep(time.Now())
	if _, ok := t.families[family]; ok {
		return errors.New("session: refresh family exists") // IDs are random: never
	}
	t.families[family] = &memFamily{current: jti, until: until}
	return nil
}

// SpendRefresh implements TokenStore.
func (s *MemoryStore) SpendRefresh(ctx context.Context, family, jti, next string, until time.Time) error {
	t, err := s.tokensLocked()
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	f := t.families[family]
	if f == nil || time.Now().After(f.until) {
		return ErrInvalidToken
	}
	if f.current == "" || f.current != jti {
		f.current = "" // revoked for good, until it expires
		return ErrRefreshReused
	}
	f.current, f.until = next, until
	return nil
}

// RevocationSnapshot implements TokenStore.
func (s *MemoryStore) RevocationSnapshot(ctx context.Context, now time.Time) (*RevocationSnapshot, error) {
	t, err := s.tokensLocked()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	snap := &RevocationSnapshot{}
	for u, until := range t.bumps {
		if !now.After(until) {
			snap.Versions = append(snap.Versions, Revocation{UserID: u, Version: t.versions[u], Until: until})
		}
	}
	for j, until := range t.denied {
		if !now.After(until) {
			snap.Denied = append(snap.Denied, Revocation{JTI: j, Until: until})
		}
	}
	return snap, nil
}

// SubscribeRevocations implements TokenStore.
func (s *MemoryStore) SubscribeRevocations(ctx context.Context) (RevocationSubscription, error) {
	t, err := s.tokensLocked()
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	sub := &memRevSub{store: s, wake: make(chan struct{}, 1)}
	t.subs[sub] = struct{}{}
	return sub, nil
}

// memSubQueue bounds what a subscriber that does not keep up may owe: past
// it the subscription breaks, and its owner reloads a snapshot.
const memSubQueue = 10000

var errSubOverflow = errors.New("session: revocation subscriber fell behind")

// memRevSub is one in-process subscription.
type memRevSub struct {
	store *MemoryStore
	mu    sync.Mutex
	queue []Revocation
	err   error
	wake  chan struct{}
}

func (sub *memRevSub) push(r Revocation) {
	sub.mu.Lock()
	if sub.err == nil {
		if len(sub.queue) >= memSubQueue {
			sub.err, sub.queue = errSubOverflow, nil
		} else {
			sub.queue = append(sub.queue, r)
		}
	}
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

func (sub *memRevSub) end(err error) {
	sub.mu.Lock()
	if sub.err == nil {
		sub.err = err
	}
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

// Next implements RevocationSubscription.
func (sub *memRevSub) Next(ctx context.Context) (Revocation, error) {
	for {
		sub.mu.Lock()
		if sub.err != nil {
			err := sub.err
			sub.mu.Unlock()
			return Revocation{}, err
		}
		if len(sub.queue) > 0 {
			r := sub.queue[0]
			sub.queue = sub.queue[1:]
			sub.mu.Unlock()
			return r, nil
		}
		sub.mu.Unlock()
		select {
		case <-sub.wake:
		case <-ctx.Done():
			return Revocation{}, ctx.Err()
		}
	}
}

// Close implements RevocationSubscription.
func (sub *memRevSub) Close() error {
	sub.store.mu.Lock()
	delete(sub.store.tokens.subs, sub)
	sub.store.mu.Unlock()
	sub.end(errors.New("session: revocation subscription closed"))
	return nil
}
