package session

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// The revocation mirror: each Manager keeps, in memory, the token
// versions raised and the token IDs denied recently enough to matter, fed
// by the store's revocation watch, so that VerifyToken makes no round
// trip. The mirror is trusted only while the watch is established: after
// a subscription is confirmed, a snapshot is loaded and merged, and only
// then is the mirror trusted. Subscribing first and loading the snapshot
// second leaves no gap: a revocation committed before the snapshot is in
// it, one committed after the subscription is delivered by it, and one in
// between is in both (applying a revocation twice is harmless: versions
// only rise, the deny-list only grows). When the subscription breaks,
// the mirror stops being trusted at once, and VerifyToken asks the store
// until the watch is back.
type mirror struct {
	trusted atomic.Bool
	mu      sync.RWMutex
	vers    map[string]mirrorEntry // userID -> version
	denied  map[string]time.Time   // jti -> until
}

type mirrorEntry struct {
	version int64
	until   time.Time
}

func newMirror() *mirror {
	return &mirror{vers: map[string]mirrorEntry{}, denied: map[string]time.Time{}}
}

// apply merges one revocation.
func (mr *mirror) apply(r Revocation) {
	mr.mu.Lock()
	defer mr.mu.Unlock()
	mr.applyLocked(r)
}

func (mr *mirror) applyLocked(r Revocation) {
	if r.JTI != "" {
		if r.Until.After(mr.denied[r.JTI]) {
			mr.denied[r.JTI] = r.Until
		}
		return
	}
	e := mr.vers[r.UserID]
	if r.Version > e.version {
		e.version = r.Version
	}
	if r.Until.After(e.until) {
		e.until = r.Until
	}
	mr.vers[r.UserID] = e
}

// load merges a snapshot.
func (mr *mirror) load(s *RevocationSnapshot) {
	mr.mu.Lock()
	defer mr.mu.Unlock()
	for _, r := range s.Versions {
		mr.applyLocked(r)
	}
	for _, r := range s.Denied {
		mr.applyLocked(r)
	}
}

// revoked reports whether a token of userID with version ver and ID jti
// is revoked as far as the mirror knows. An entry past its until covers
// only tokens that have expired, so it need not be looked at.
func (mr *mirror) revoked(userID string, ver int64, jti string) bool {
	mr.mu.RLock()
	defer mr.mu.RUnlock()
	if e, ok := mr.vers[userID]; ok && ver < e.version {
		return true
	}
	_, denied := mr.denied[jti]
	return denied
}

// sweep drops entries whose tokens have all expired at now: the mirror
// holds no more than the revocations of live tokens.
func (mr *mirror) sweep(now time.Time) {
	mr.mu.Lock()
	defer mr.mu.Unlock()
	for u, e := range mr.vers {
		if now.After(e.until) {
			delete(mr.vers, u)
		}
	}
	for j, until := range mr.denied {
		if now.After(until) {
			delete(mr.denied, j)
		}
	}
}

func (mr *mirror) size() int {
	mr.mu.RLock()
	defer mr.mu.RUnlock()
	return len(mr.vers) + len(mr.denied)
}

// watch keeps the mirror fed until ctx ends: subscribe, load a snapshot,
// trust, apply what the subscription delivers; on any failure stop
// trusting, wait a little, and start again.
func (t *tokenState) watch(ctx context.Context) {
	defer close(t.watchDone)
	backoff := 10 * time.Millisecond
	failing := false
	for {
		err := t.watchOnce(ctx)
		t.mirror.trusted.Store(false)
		t.hooks.trust(false)
		if ctx.Err() != nil {
			return
		}
		if !failing {
			t.logger.Warn("session: token revocation watch failed; verifying tokens against the store until it is back", "err", err)
			failing = true
		}
		timer := time.NewTimer(backoff)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return
		}
		backoff = min(backoff*2, time.Second)
		if t.mirror.trusted.Load() {
			failing = false
		}
	}
}

// watchOnce runs one subscription until it fails.
func (t *tokenState) watchOnce(ctx context.Context) error {
	t.hooks.beforeSubscribe()
	sub, err := t.store.SubscribeRevocations(ctx)
	if err != nil {
		return err
	}
	t.subMu.Lock()
	if ctx.Err() != nil { // Close came first and saw no subscription
		t.subMu.Unlock()
		_ = sub.Close()
		return ctx.Err()
	}
	t.sub = sub
	t.subMu.Unlock()
	defer func() {
		t.subMu.Lock()
		t.sub = nil
		t.subMu.Unlock()
		_ = sub.Close()
	}()

	t.hooks.afterSubscribe()
	snap, err := t.store.RevocationSnapshot(ctx, t.now())
	if err != nil {
		return err
	}
	t.mirror.load(snap)
	t.mirror.sweep(t.now())
	t.mirror.trusted.Store(true)
	t.hooks.trust(true)
	lastSweep := t.now()
	for {
		r, err := sub.Next(ctx)
		if err != nil {
			return err
		}
		t.mirror.apply(r)
		t.hooks.applied(r)
		// Sweeping on the watch's own goroutine, as revocations come in,
		// keeps the mirror bounded with no timer of its own.
		if now := t.now(); now.Sub(lastSweep) > t.cfg.access {
			t.mirror.sweep(now)
			lastSweep = now
		}
	}
}

// tokenHooks let tests see and steer the watch. Every field may be nil.
type tokenHooks struct {
	onBeforeSubscribe func()
	onAfterSubscribe  func()
	onTrust           func(bool)
	onApplied         func(Revocation)
}

func (h *tokenHooks) beforeSubscribe() {
	if h.onBeforeSubscribe != nil {
		h.onBeforeSubscribe()
	}
}
func (h *tokenHooks) afterSubscribe() {
	if h.onAfterSubscribe != nil {
		h.onAfterSubscribe()
	}
}
func (h *tokenHooks) trust(b bool) {
	if h.onTrust != nil {
		h.onTrust(b)
	}
}
func (h *tokenHooks) applied(r Revocation) {
	if h.onApplied != nil {
		h.onApplied(r)
	}
}
