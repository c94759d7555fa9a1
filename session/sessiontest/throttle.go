package sessiontest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/session"
)

func testThrottle(t *testing.T, h Harness) {
	runThrottleTests(t, func(t *testing.T) session.ThrottleStore {
		s := h.NewStore(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// runThrottleTests runs the ThrottleStore part of RunStoreTests on stores
// from newStore (fresh, or at least unused by other tests).
func runThrottleTests(t *testing.T, newStore func(t *testing.T) session.ThrottleStore) {
	t.Run("LockoutAtLimit", func(t *testing.T) { throttleLockoutAtLimit(t, newStore(t)) })
	t.Run("LockoutDoubles", func(t *testing.T) { throttleLockoutDoubles(t, newStore(t)) })
	t.Run("WindowForgets", func(t *testing.T) { throttleWindowForgets(t, newStore(t)) })
	t.Run("Challenge", func(t *testing.T) { throttleChallenge(t, newStore(t)) })
	t.Run("RefusalLeavesWindow", func(t *testing.T) { throttleRefusalLeavesWindow(t, newStore(t)) })
	t.Run("ResetAndKeys", func(t *testing.T) { throttleResetAndKeys(t, newStore(t)) })
	t.Run("ConcurrentAttempts", func(t *testing.T) { throttleConcurrent(t, newStore(t)) })
}

// t0 is a whole millisecond, far from the real clock: stores must run on
// the time they are given.
var t0 = time.UnixMilli(1_900_000_000_000)

var policy = session.ThrottlePolicy{Limit: 3, Window: 10 * time.Minute, Base: time.Minute, Max: time.Hour}

func attempt(t *testing.T, s session.ThrottleStore, key string, now time.Time, p session.ThrottlePolicy, challenged bool) session.ThrottleState {
	t.Helper()
	st, err := s.ThrottleAttempt(context.Background(), key, now, p, challenged)
	if err != nil {
		t.Fatalf("ThrottleAttempt(%q, %v): %v", key, now.Sub(t0), err)
	}
	return st
}

func want(t *testing.T, what string, st session.ThrottleState, status session.ThrottleStatus) {
	t.Helper()
	if st.Status != status {
		t.Fatalf("%s: status %d (state %+v), want %d", what, st.Status, st, status)
	}
}

// lockOut makes p.Limit attempts at now and checks the last one locks key
// until now+d.
func lockOut(t *testing.T, s session.ThrottleStore, key string, now time.Time, p session.ThrottlePolicy, d time.Duration) {
	t.Helper()
	for i := 1; i < p.Limit; i++ {
		want(t, fmt.Sprintf("attempt %d", i), attempt(t, s, key, now, p, false), session.ThrottleAllowed)
	}
	st := attempt(t, s, key, now, p, false)
	want(t, fmt.Sprintf("attempt %d", p.Limit), st, session.ThrottleLast)
	if !st.LockedUntil.Equal(now.Add(d)) {
		t.Fatalf("locked until %v after t0, want %v", st.LockedUntil.Sub(t0), now.Add(d).Sub(t0))
	}
}

func throttleLockoutAtLimit(t *testing.T, s session.ThrottleStore) {
	lockOut(t, s, "k", t0, policy, time.Minute)
	st := attempt(t, s, "k", t0.Add(time.Minute-time.Millisecond), policy, true)
	want(t, "during the lockout, even challenged", st, session.ThrottleLocked)
	if !st.LockedUntil.Equal(t0.Add(time.Minute)) {
		t.Fatalf("a refused attempt moved the lockout to %v", st.LockedUntil.Sub(t0))
	}
	want(t, "when the lockout ends", attempt(t, s, "k", t0.Add(time.Minute), policy, false), session.ThrottleAllowed)
}

func throttleLockoutDoubles(t *testing.T, s session.ThrottleStore) {
	now := t0
	for _, d := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour} {
		lockOut(t, s, "k", now, policy, d)
		now = now.Add(d)
	}
	// Quiet for Max after the last lockout ended: lockouts are forgotten.
	now = now.Add(policy.Max)
	lockOut(t, s, "k", now, policy, time.Minute)
}

func throttleWindowForgets(t *testing.T, s session.ThrottleStore) {
	for i := 1; i < policy.Limit; i++ {
		want(t, "in the window", attempt(t, s, "k", t0, policy, false), session.ThrottleAllowed)
	}
	// The window runs from the first attempt; past it the count restarts.
	lockOut(t, s, "k", t0.Add(policy.Window), policy, time.Minute)
}

func throttleChallenge(t *testing.T, s session.ThrottleStore) {
	p := policy
	p.Limit, p.ChallengeAfter = 4, 2
	for i := 0; i < 2; i++ {
		want(t, "before the challenge", attempt(t, s, "k", t0, p, false), session.ThrottleAllowed)
	}
	for i := 0; i < 3; i++ { // refusals do not count
		st := attempt(t, s, "k", t0, p, false)
		want(t, "unchallenged", st, session.ThrottleChallenge)
		if st.Attempts != 2 {
			t.Fatalf("a refused attempt counted: %d attempts, want 2", st.Attempts)
		}
	}
	want(t, "challenged", attempt(t, s, "k", t0, p, true), session.ThrottleAllowed)
	want(t, "challenged, the last", attempt(t, s, "k", t0, p, true), session.ThrottleLast)
	// After a lockout the key stays in the challenge state.
	want(t, "after the lockout", attempt(t, s, "k", t0.Add(time.Minute), p, false), session.ThrottleChallenge)
	want(t, "without a challenge step", attempt(t, s, "k", t0.Add(time.Minute), policy, false), session.ThrottleAllowed)
}

func throttleResetAndKeys(t *testing.T, s session.ThrottleStore) {
	ctx := context.Background()
	lockOut(t, s, "a", t0, policy, time.Minute)
	want(t, "another key", attempt(t, s, "b", t0, policy, false), session.ThrottleAllowed)
	if err := s.ThrottleReset(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	// Reset forgets the lockout and its count: the next one is Base again.
	lockOut(t, s, "a", t0, policy, time.Minute)
	if err := s.ThrottleReset(ctx, "never-seen"); err != nil {
		t.Fatalf("resetting an absent key: %v", err)
	}
}

// throttleConcurrent: however many attempts race, exactly Limit go ahead.
func throttleConcurrent(t *testing.T, s session.ThrottleStore) {
	const n = 40
	p := policy
	p.Limit = 5
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[session.ThrottleStatus]int{}
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			st, err := s.ThrottleAttempt(context.Background(), "k", t0, p, false)
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			counts[st.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if counts[session.ThrottleAllowed] != 4 || counts[session.ThrottleLast] != 1 || counts[session.ThrottleLocked] != n-5 {
		t.Fatalf("statuses %v, want 4 allowed, 1 last, %d locked", counts, n-5)
	}
}

// A refused attempt changes nothing, not even where the window starts.
func throttleRefusalLeavesWindow(t *testing.T, s session.ThrottleStore) {
	p := policy
	p.ChallengeAfter = 1
	for i := 0; i < 2; i++ {
		want(t, "challenged", attempt(t, s, "k", t0, p, true), session.ThrottleAllowed)
	}
	want(t, "challenged, the last", attempt(t, s, "k", t0, p, true), session.ThrottleLast)
	now := t0.Add(time.Minute) // the lockout is over; the key still needs a challenge
	want(t, "refused", attempt(t, s, "k", now, p, false), session.ThrottleChallenge)
	now = now.Add(p.Window - time.Minute) // the window starts here, not at the refusal
	want(t, "first of the new window", attempt(t, s, "k", now, p, true), session.ThrottleAllowed)
	st := attempt(t, s, "k", now.Add(2*time.Minute), p, true)
	want(t, "second of the new window", st, session.ThrottleAllowed)
	if st.Attempts != 2 {
		t.Fatalf("the window restarted at the refusal: %d attempts in it, want 2", st.Attempts)
	}
}
