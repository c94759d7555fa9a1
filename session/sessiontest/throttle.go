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
	t.Run("Forgive", func(t *testing.T) { throttleForgive(t, newStore(t)) })
	t.Run("ForgiveLockout", func(t *testing.T) { throttleForgiveLockout(t, newStore(t)) })
	t.Run("ForgiveOnlyItsWindow", func(t *testing.T) { throttleForgiveOnlyItsWindow(t, newStore(t)) })
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

func forgive(t *testing.T, s session.ThrottleStore, key string, at time.Time, got session.ThrottleState) {
	t.Helper()
	if err := s.ThrottleForgive(context.Background(), key, at, policy, got); err != nil {
		t.Fatalf("ThrottleForgive(%q, %v): %v", key, at.Sub(t0), err)
	}
}

// throttleForgive: a forgiven attempt no longer counts, however many
// attempts are forgiven the count never goes below zero, and forgiving
// an absent key creates nothing.
func throttleForgive(t *testing.T, s session.ThrottleStore) {
	for i := range 10 * policy.Limit { // every attempt a success: never locked
		now := t0.Add(time.Duration(i) * time.Second)
		st := attempt(t, s, "k", now, policy, false)
		want(t, fmt.Sprintf("success %d", i+1), st, session.ThrottleAllowed)
		if st.Attempts != 1 {
			t.Fatalf("success %d: %d attempts counted, want 1 (the earlier ones were forgiven)", i+1, st.Attempts)
		}
		forgive(t, s, "k", now, st)
	}
	allowed := session.ThrottleState{Status: session.ThrottleAllowed, Attempts: 1}
	for range 3 { // never below zero
		forgive(t, s, "k", t0.Add(time.Minute), allowed)
	}
	lockOut(t, s, "k", t0.Add(time.Minute), policy, time.Minute)
	forgive(t, s, "absent", t0, allowed)
	if st := attempt(t, s, "absent", t0, policy, false); st.Attempts != 1 {
		t.Fatalf("forgiving an absent key left state: %+v after one attempt", st)
	}
}

// throttleForgiveLockout: forgiving the attempt that locked the key
// takes that lockout back (Limit-1 attempts remain, so the next one
// locks again, for as long as that lockout would have); no other
// lockout is ever lifted.
func throttleForgiveLockout(t *testing.T, s session.ThrottleStore) {
	for i := 1; i < policy.Limit; i++ {
		attempt(t, s, "k", t0, policy, false)
	}
	last := attempt(t, s, "k", t0, policy, false)
	want(t, "the limit", last, session.ThrottleLast)
	forgive(t, s, "k", t0, last)
	st := attempt(t, s, "k", t0.Add(time.Second), policy, false)
	want(t, "after forgiving the locking attempt, the next", st, session.ThrottleLast)
	if !st.LockedUntil.Equal(t0.Add(time.Second+time.Minute)) || st.Lockouts != 1 {
		t.Fatalf("the lockout after a forgiven one: %+v, want the first lockout's length", st)
	}
	// Forgiving again with the old answer lifts nothing: that lockout is
	// no longer the key's. Nor does an attempt that did not lock it.
	forgive(t, s, "k", t0, last)
	forgive(t, s, "k", t0, session.ThrottleState{Status: session.ThrottleAllowed})
	st = attempt(t, s, "k", t0.Add(2*time.Second), policy, false)
	want(t, "during the second lockout", st, session.ThrottleLocked)
	if !st.LockedUntil.Equal(t0.Add(time.Second + time.Minute)) {
		t.Fatalf("forgiving changed a lockout in force: %+v", st)
	}
	// The next lockout still doubles: the second one is remembered.
	lockOut(t, s, "k", t0.Add(time.Second+time.Minute), policy, 2*time.Minute)
}

// throttleForgiveOnlyItsWindow: an attempt whose window has been replaced
// (by a new window or a lockout) is not taken back from the new one.
func throttleForgiveOnlyItsWindow(t *testing.T, s session.ThrottleStore) {
	first := attempt(t, s, "k", t0, policy, false)
	want(t, "first window", first, session.ThrottleAllowed)
	later := t0.Add(policy.Window)
	want(t, "new window", attempt(t, s, "k", later, policy, false), session.ThrottleAllowed)
	forgive(t, s, "k", t0, first) // the first window's attempt: gone already
	for i := 2; i < policy.Limit; i++ {
		want(t, fmt.Sprintf("new window, attempt %d", i), attempt(t, s, "k", later, policy, false), session.ThrottleAllowed)
	}
	want(t, "new window, the limit", attempt(t, s, "k", later, policy, false), session.ThrottleLast)
	// A lockout (another attempt's) is not lifted by forgiving an
	// attempt made before it.
	forgive(t, s, "k", later, first)
	want(t, "locked", attempt(t, s, "k", later.Add(time.Second), policy, false), session.ThrottleLocked)
}
