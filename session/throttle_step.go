package session

import "time"

// throttleRec is one key's stored throttle state; times in Unix ms, 0 for
// none. MemoryStore keeps it as is; scripts/throttle_attempt.lua and
// pgThrottleDDL's session_throttle_step compute the same step.
type throttleRec struct {
	n       int   // attempts in the window
	ws      int64 // window start
	l       int   // lockouts remembered
	lu      int64 // locked until
	expires int64 // when the whole record may be forgotten
}

// throttleStep applies one attempt at now (ms) to r and returns the new
// record and the attempt's status. A refused attempt leaves r as it is.
func throttleStep(r throttleRec, now int64, p ThrottlePolicy, challenged bool) (throttleRec, ThrottleStatus) {
	win, base, mx := p.Window.Milliseconds(), p.Base.Milliseconds(), p.Max.Milliseconds()
	orig := r
	if r.lu > 0 && now >= r.lu+mx {
		r.l, r.lu = 0, 0 // quiet for Max since the last lockout ended
	}
	if now < r.lu {
		return r, ThrottleLocked
	}
	if r.ws == 0 || now >= r.ws+win {
		r.n, r.ws = 0, now
	}
	if p.ChallengeAfter > 0 && (r.n >= p.ChallengeAfter || r.l > 0) && !challenged {
		return orig, ThrottleChallenge
	}
	status := ThrottleAllowed
	r.n++
	if r.n >= p.Limit {
		d := base
		for i := 0; i < r.l && d < mx; i++ {
			d *= 2
		}
		d = min(d, mx)
		r.lu, r.l, r.n, r.ws = now+d, r.l+1, 0, 0
		status = ThrottleLast
	}
	r.expires = r.ws + win
	if r.lu > 0 {
		r.expires = max(r.expires, r.lu+mx)
	}
	return r, status
}

func (r throttleRec) state(s ThrottleStatus) ThrottleState {
	st := ThrottleState{Status: s, Attempts: r.n, Lockouts: r.l}
	if r.lu > 0 {
		st.LockedUntil = time.UnixMilli(r.lu)
	}
	return st
}

// throttleForgive takes back the attempt at at (ms) under p that
// answered got, as ThrottleStore.ThrottleForgive says; false when there
// is nothing to take back.
func throttleForgive(r throttleRec, at int64, p ThrottlePolicy, got ThrottleState) (throttleRec, bool) {
	if got.Status != ThrottleLast {
		if r.n <= 0 || r.ws == 0 || r.ws > at {
			return r, false
		}
		r.n--
		return r, true
	}
	// The attempt locked the key: undo that lockout if it is still the
	// key's and nothing was counted since. The window restarts at the
	// attempt and the lockout's end moves back to it (never earlier than
	// the truth), so the Limit-1 failures are kept at least as long.
	if got.LockedUntil.IsZero() || r.lu != got.LockedUntil.UnixMilli() || r.n != 0 || r.ws != 0 || r.l <= 0 {
		return r, false
	}
	r.l--
	r.lu = 0
	if r.l > 0 {
		r.lu = at // earlier lockouts are still remembered, from here
	}
	r.n, r.ws = p.Limit-1, at
	r.expires = r.ws + p.Window.Milliseconds()
	if r.lu > 0 {
		r.expires = max(r.expires, r.lu+p.Max.Milliseconds())
	}
	return r, true
}
