package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// ThrottleStore keeps login-throttling state per key: attempts in the
// current window, lockouts so far and the end of the current lockout.
// Keys are opaque strings the Manager derives (hashes of a username or a
// client key); a store needs no knowledge of what they mean. Every method
// is one atomic step, so instances sharing the store share the limits.
type ThrottleStore interface {
	// ThrottleAttempt records one login attempt on key at now under p and
	// says whether it may go ahead (see ThrottleStatus). A locked key, or
	// one needing a challenge the request has not passed (challenged
	// false), is refused and its count left alone.
	ThrottleAttempt(ctx context.Context, key string, now time.Time, p ThrottlePolicy, challenged bool) (ThrottleState, error)
	// ThrottleReset forgets key: a successful login.
	ThrottleReset(ctx context.Context, key string) error
	// ThrottleForgive takes back one attempt: the ThrottleAttempt on key
	// at at under p that answered got (a login that then succeeded).
	// An attempt that went ahead is taken off the count, when the key's
	// current window began at or before at and holds one; a count never
	// goes below zero, and an absent key stays absent. An attempt that
	// locked the key (ThrottleLast) takes back that lockout too, as if
	// the attempt had never been made (Limit-1 attempts, in a window
	// starting at at) — provided it is still the key's lockout and
	// nothing has been counted since. No other lockout, in force or
	// remembered, is ever lifted or shortened.
	ThrottleForgive(ctx context.Context, key string, at time.Time, p ThrottlePolicy, got ThrottleState) error
}

// ThrottlePolicy is the rule a ThrottleStore applies to one key.
type ThrottlePolicy struct {
	// Limit is how many attempts a window allows; the Limit-th attempt
	// goes ahead but locks the key.
	Limit int
	// ChallengeAfter is how many attempts a window allows before the
	// rest need a passed challenge; 0 means no challenge step.
	ChallengeAfter int
	// Window is how long attempts count, from the first one.
	Window time.Duration
	// Base is the first lockout's length; each further lockout of the
	// key doubles it, up to Max. Lockouts are forgotten once the key has
	// had none for Max.
	Base, Max time.Duration
}

// ThrottleStatus is the outcome of one ThrottleAttempt.
type ThrottleStatus int

const (
	// ThrottleAllowed: the attempt may go ahead.
	ThrottleAllowed ThrottleStatus = iota
	// ThrottleLast: the attempt may go ahead, and it locked the key.
	ThrottleLast
	// ThrottleLocked: refused, the key is locked until LockedUntil.
	ThrottleLocked
	// ThrottleChallenge: refused, the key needs a passed challenge.
	ThrottleChallenge
)

// ThrottleState is a key's state after a ThrottleAttempt.
type ThrottleState struct {
	Status      ThrottleStatus
	Attempts    int       // in the current window
	Lockouts    int       // remembered lockouts
	LockedUntil time.Time // zero when never locked
}

// ErrChallengeRequired is Login's error while the username or client has
// failed often enough that the request must pass the application's
// challenge (WithChallenge) first; errors.As to *ThrottleError.
var ErrChallengeRequired = errors.New("session: login challenge required")

// ThrottleError is Login's error for a refused attempt. It matches
// ErrThrottled (a lockout) or ErrChallengeRequired with errors.Is.
type ThrottleError struct {
	// Until is when the lockout ends; zero for a challenge.
	Until time.Time
	// Challenge is set when a passed challenge would let the attempt go
	// ahead.
	Challenge bool
}

func (e *ThrottleError) Error() string {
	if e.Challenge {
		return ErrChallengeRequired.Error()
	}
	return fmt.Sprintf("%v until %s", ErrThrottled, e.Until.UTC().Format(time.RFC3339))
}

// Is makes errors.Is match ErrThrottled or ErrChallengeRequired.
func (e *ThrottleError) Is(target error) bool {
	if e.Challenge {
		return target == ErrChallengeRequired
	}
	return target == ErrThrottled
}

// throttleNow is the clock throttling runs on (a test sets config.now).
func (m *Manager) throttleNow() time.Time {
	if m.cfg.now != nil {
		return m.cfg.now()
	}
	return time.Now()
}

// throttleKeys returns the keys one attempt counts against: the client
// first, so that a locked client never adds to a username's count (which
// would let one address lock out any user faster), then the username.
// Both are hashed: a store holds no username, and a megabyte of username
// is still a short key. Usernames are compared as a user store commonly
// finds them (throttleUsername), so that "Alice", " alice" and the
// full-width "ａｌｉｃｅ" share their failures.
func (m *Manager) throttleKeys(r *http.Request, username string) [2]throttleKey {
	tc := &m.cfg.throttle
	return [2]throttleKey{
		{key: throttleHash("c", tc.clientKey(r)), policy: tc.clientPolicy()},
		{key: throttleHash("u", throttleUsername(username)), policy: tc.userPolicy()},
	}
}

// throttleUsername is username trimmed of white space, case-folded and
// NFKC-normalized (Unicode's NFKC_Casefold, as PRECIS usernames are):
// every spelling an authenticator may take for the same user counts
// against one lockout. Merging spellings only ever shares a limit, never
// lifts one.
func throttleUsername(username string) string {
	s := norm.NFKC.String(username)
	s = cases.Fold().String(s) // a Caser is not safe to share between goroutines
	return strings.TrimSpace(norm.NFKC.String(s))
}

type throttleKey struct {
	key    string
	policy ThrottlePolicy
}

func throttleHash(kind, s string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + s))
	return kind + ":" + hex.EncodeToString(sum[:16])
}

// throttleTicket is what throttleBefore counted for one Login, for
// throttleAfter: the client key's attempt, when and in which store tier,
// so that a success can take back exactly that attempt.
type throttleTicket struct {
	client  throttleKey
	at      time.Time
	tier    tier
	got     ThrottleState
	counted bool
}

// throttleBefore refuses a login attempt while username or the client is
// locked out (ErrThrottled), or needs a challenge it has not passed
// (ErrChallengeRequired); otherwise it counts the attempt. Counting before
// the password is checked, in one atomic step per key, is what keeps
// concurrent attempts from slipping past the limit. A store that cannot
// be reached refuses the attempt (ErrUnavailable): throttling fails
// closed.
func (m *Manager) throttleBefore(ctx context.Context, r *http.Request, username string) (throttleTicket, error) {
	now := m.throttleNow()
	passed := 0 // 0 not asked yet, 1 passed, -1 failed: the hook runs at most once
	var ticket throttleTicket
	for i, k := range m.throttleKeys(r, username) {
		var st ThrottleState
		used, err := m.throttleDo("login throttle", func(s Store) (err error) {
			st, err = s.ThrottleAttempt(ctx, k.key, now, k.policy, passed == 1)
			if err == nil && st.Status == ThrottleChallenge && passed == 0 {
				passed = -1
				if m.cfg.throttle.challenge(r) {
					passed = 1
					st, err = s.ThrottleAttempt(ctx, k.key, now, k.policy, true)
				}
			}
			return err
		})
		if err != nil {
			m.throttleTel().unavailable.add(1)
			return ticket, err
		}
		if i == 0 && (st.Status == ThrottleAllowed || st.Status == ThrottleLast) {
			ticket = throttleTicket{client: k, at: now, tier: used, got: st, counted: true}
		}
		switch st.Status {
		case ThrottleLocked:
			m.throttleTel().locked.add(1)
			return ticket, &ThrottleError{Until: st.LockedUntil}
		case ThrottleChallenge:
			m.throttleTel().challenged.add(1)
			return ticket, &ThrottleError{Challenge: true}
		case ThrottleLast:
			m.throttleTel().lockouts.add(1)
		}
	}
	m.throttleTel().allowed.add(1)
	return ticket, nil
}

// throttleDo runs f on the primary store through its circuit breaker,
// and on the fallback store (WithFallbackStore) while the primary is
// unavailable, as sessions are created, and says which tier answered. With neither it fails with
// ErrUnavailable: throttling fails closed. While the primary is down the
// counts start afresh in the fallback; that is the price of logging in
// at all during an outage, and it is bounded by the fallback's own
// limits.
func (m *Manager) throttleDo(op string, f func(Store) error) (tier, error) {
	var err error
	for _, t := range []tier{tierPrimary, tierFallback} {
		ts := m.tier(t)
		if ts == nil {
			break
		}
		if err = ts.do(op, f); !errors.Is(err, ErrUnavailable) {
			return t, err
		}
	}
	return tierPrimary, err
}

// throttleAfter records the outcome of a login attempt. The attempt was
// already counted by throttleBefore, so a failure needs nothing more. A
// success forgets the username's failures, in each store tier that may
// hold them, and takes back its own attempt on the client key, in the
// tier that counted it: otherwise successful logins alone would lock out
// an address many users share (an office, a NAT). The client's failures
// are kept: an attacker could otherwise clear them between guesses by
// logging in to an account of their own. A lockout is never lifted but
// the one this very attempt set off by being the limit's last: that one
// came of Limit-1 failures and a success, and would otherwise lock out
// everyone behind the address for a login that went right. A
// failed reset or take-back only keeps an old count, so it is logged,
// not returned: the login itself succeeded.
func (m *Manager) throttleAfter(ctx context.Context, ticket throttleTicket, username string, ok bool) error {
	if !ok {
		return nil
	}
	k := throttleHash("u", throttleUsername(username))
	for _, ts := range m.core.tiers {
		if ts == nil {
			continue
		}
		if err := ts.do("login throttle reset", func(s Store) error { return s.ThrottleReset(ctx, k) }); err != nil {
			m.cfg.logger.WarnContext(ctx, "session: could not reset a login throttle after a successful login", slog.Any("error", err))
		}
	}
	if !ticket.counted {
		return nil
	}
	if ts := m.tier(ticket.tier); ts != nil {
		err := ts.do("login throttle forgive", func(s Store) error {
			return s.ThrottleForgive(ctx, ticket.client.key, ticket.at, ticket.client.policy, ticket.got)
		})
		if err != nil {
			m.cfg.logger.WarnContext(ctx, "session: could not take back a successful login's attempt on its client's throttle", slog.Any("error", err))
		}
	}
	return nil
}

// RemoteAddrClientKey is the default client key of login throttling: the
// host of r.RemoteAddr, and for IPv6 its /64 network (one host usually has
// a whole /64). Behind a proxy or load balancer every request has the
// proxy's address: supply a key from the proxy's trusted header with
// WithClientKey. X-Forwarded-For is never trusted by default, since any
// client can send one.
func RemoteAddrClientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}

// pgThrottleDDL is the throttle table and the function computing one
// attempt's step, mirroring scripts/throttle_attempt.lua; times in ms.
const pgThrottleDDL = `
CREATE TABLE IF NOT EXISTS session_throttle (
	key     text PRIMARY KEY,
	n       integer NOT NULL,
	ws      bigint  NOT NULL,
	l       integer NOT NULL,
	lu      bigint  NOT NULL,
	status  integer NOT NULL,
	expires bigint  NOT NULL
);
CREATE INDEX IF NOT EXISTS session_throttle_expires ON session_throttle (expires);
CREATE OR REPLACE FUNCTION session_throttle_step(
	n integer, ws bigint, l integer, lu bigint,
	now bigint, lim integer, challenge_after integer, challenged boolean,
	win bigint, base bigint, mx bigint,
	OUT o_n integer, OUT o_ws bigint, OUT o_l integer, OUT o_lu bigint, OUT o_status integer, OUT o_expires bigint)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE d bigint; n0 integer := n; ws0 bigint := ws; l0 integer := l; lu0 bigint := lu;
BEGIN
	IF lu > 0 AND now >= lu + mx THEN l := 0; lu := 0; END IF;
	o_expires := greatest(ws + win, CASE WHEN lu > 0 THEN lu + mx ELSE 0 END);
	IF now < lu THEN
		o_n := n; o_ws := ws; o_l := l; o_lu := lu; o_status := 2; RETURN;
	END IF;
	IF ws = 0 OR now >= ws + win THEN n := 0; ws := now; END IF;
	IF challenge_after > 0 AND (n >= challenge_after OR l > 0) AND NOT challenged THEN
		-- refused: the row keeps what it had
		o_n := n0; o_ws := ws0; o_l := l0; o_lu := lu0; o_status := 3;
		o_expires := greatest(ws0 + win, CASE WHEN lu0 > 0 THEN lu0 + mx ELSE 0 END);
		RETURN;
	END IF;
	o_status := 0;
	n := n + 1;
	IF n >= lim THEN
		d := base;
		FOR i IN 1..l LOOP
			d := d * 2;
			EXIT WHEN d >= mx;
		END LOOP;
		d := least(d, mx);
		lu := now + d; l := l + 1; n := 0; ws := 0; o_status := 1;
	END IF;
	o_n := n; o_ws := ws; o_l := l; o_lu := lu;
	o_expires := greatest(ws + win, CASE WHEN lu > 0 THEN lu + mx ELSE 0 END);
END $$;
`
