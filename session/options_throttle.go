package session

import (
	"fmt"
	"net/http"
	"time"
)

// Login-throttling defaults: see the package doc's # Login throttling.
const (
	defaultLockoutFailures = 5
	defaultLockoutBase     = time.Minute
	defaultLockoutWindow   = 15 * time.Minute
	// maxLockout caps the doubling lockouts; a key is also forgotten
	// after this long without a lockout.
	maxLockout = 24 * time.Hour
	// clientFactor: a client address is shared (offices, NAT), so it gets
	// this many times a username's failures unless WithClientLockout.
	clientFactor = 4
)

// throttleConfig is the login-throttling part of a Manager's
// configuration; zero fields mean the defaults.
type throttleConfig struct {
	failures       int
	base           time.Duration
	window         time.Duration
	challengeAfter int // -1: set to "none" by WithChallengeAfter(0)
	clientFailures int
	clientBase     time.Duration
	challengeHook  func(*http.Request) bool
	clientKeyFunc  func(*http.Request) string
	// tel is state, not an option: the part's counters, made by
	// initThrottle (kept here so the Manager struct stays the core's).
	tel *throttleTelemetry
}

// WithLockout locks a username out for base after failures failed logins
// in a row (within the window, 15 minutes), overriding the default of 5
// failures and one minute. Each further lockout of the same username
// doubles the time, up to 24 hours.
func WithLockout(failures int, base time.Duration) Option {
	return func(c *config) error {
		if failures < 1 || base <= 0 || base > maxLockout {
			return fmt.Errorf("%w: WithLockout(%d, %v): want failures >= 1 and 0 < base <= %v", ErrInvalid, failures, base, maxLockout)
		}
		c.throttle.failures, c.throttle.base = failures, base
		return nil
	}
}

// WithLockoutWindow sets how long failed logins count, from the first,
// overriding the default 15 minutes.
func WithLockoutWindow(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Second {
			return fmt.Errorf("%w: WithLockoutWindow(%v): want at least a second", ErrInvalid, d)
		}
		c.throttle.window = d
		return nil
	}
}

// WithClientLockout sets the lockout of a client (see WithClientKey),
// overriding the default of 4 times WithLockout's failures and the same
// base.
func WithClientLockout(failures int, base time.Duration) Option {
	return func(c *config) error {
		if failures < 1 || base <= 0 || base > maxLockout {
			return fmt.Errorf("%w: WithClientLockout(%d, %v): want failures >= 1 and 0 < base <= %v", ErrInvalid, failures, base, maxLockout)
		}
		c.throttle.clientFailures, c.throttle.clientBase = failures, base
		return nil
	}
}

// WithChallenge sets the hook that says whether a login request passed
// the application's challenge (a CAPTCHA, say): after WithChallengeAfter
// failures, Login returns ErrChallengeRequired unless passed(r) is true.
// It is called at most once per Login, and only in that state. Without
// it there is no challenge step.
func WithChallenge(passed func(r *http.Request) bool) Option {
	return func(c *config) error {
		if passed == nil {
			return fmt.Errorf("%w: WithChallenge(nil)", ErrInvalid)
		}
		c.throttle.challengeHook = passed
		return nil
	}
}

// WithChallengeAfter sets after how many failures a username or client
// needs a passed challenge (see WithChallenge), overriding the default of
// half the lockout's failures (rounded up); 0 turns the step off. It must
// be below the lockout's failures.
func WithChallengeAfter(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("%w: WithChallengeAfter(%d): want n >= 0", ErrInvalid, n)
		}
		c.throttle.challengeAfter = n
		if n == 0 {
			c.throttle.challengeAfter = -1
		}
		return nil
	}
}

// WithClientKey sets how a login request's client is named for
// throttling, overriding the default RemoteAddrClientKey. Behind a proxy
// the application must supply one (from the header its proxy sets and a
// client cannot); requests for which key returns the same string share
// one count.
func WithClientKey(key func(r *http.Request) string) Option {
	return func(c *config) error {
		if key == nil {
			return fmt.Errorf("%w: WithClientKey(nil)", ErrInvalid)
		}
		c.throttle.clientKeyFunc = key
		return nil
	}
}

// check validates what single options cannot: the challenge must come
// before the lockout.
func (t *throttleConfig) check() error {
	if t.challengeAfter > 0 && t.challengeAfter >= t.userPolicy().Limit {
		return fmt.Errorf("%w: WithChallengeAfter(%d): want fewer than the lockout's %d failures", ErrInvalid, t.challengeAfter, t.userPolicy().Limit)
	}
	return nil
}

func (t *throttleConfig) userPolicy() ThrottlePolicy {
	p := ThrottlePolicy{Limit: t.failures, Base: t.base, Window: t.window, Max: maxLockout}
	if p.Limit == 0 {
		p.Limit, p.Base = defaultLockoutFailures, defaultLockoutBase
	}
	if p.Window == 0 {
		p.Window = defaultLockoutWindow
	}
	if t.challengeHook != nil {
		switch {
		case t.challengeAfter > 0:
			p.ChallengeAfter = t.challengeAfter
		case t.challengeAfter == 0 && p.Limit > 1:
			p.ChallengeAfter = (p.Limit + 1) / 2
		}
		if p.ChallengeAfter >= p.Limit {
			p.ChallengeAfter = p.Limit - 1
		}
	}
	return p
}

func (t *throttleConfig) clientPolicy() ThrottlePolicy {
	p := t.userPolicy()
	if t.clientFailures > 0 {
		p.Limit, p.Base = t.clientFailures, t.clientBase
	} else {
		p.Limit *= clientFactor
	}
	// The challenge comes at the same share of the client's limit.
	if u := t.userPolicy(); u.ChallengeAfter > 0 && p.Limit > 1 {
		p.ChallengeAfter = max(1, min(u.ChallengeAfter*p.Limit/u.Limit, p.Limit-1))
	} else {
		p.ChallengeAfter = 0
	}
	return p
}

func (t *throttleConfig) challenge(r *http.Request) bool {
	return t.challengeHook != nil && t.challengeHook(r)
}

func (t *throttleConfig) clientKey(r *http.Request) string {
	if t.clientKeyFunc != nil {
		return t.clientKeyFunc(r)
	}
	return RemoteAddrClientKey(r)
}
