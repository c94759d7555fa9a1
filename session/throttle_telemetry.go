package session

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const throttleInstrumentation = "github.com/groundwork-go/groundwork/session"

// tcounter is one outcome's running total: the hot path bumps an atomic,
// OpenTelemetry reads it at collection time.
type tcounter struct {
	n   atomic.Int64
	opt metric.ObserveOption
}

func (c *tcounter) add(n int) { c.n.Add(int64(n)) }

// throttleTelemetry counts login-throttle decisions and CSRF refusals.
type throttleTelemetry struct {
	reg metric.Registration
	// session.login.throttle, by outcome
	allowed, lockouts, locked, challenged, unavailable tcounter
	// session.csrf.rejected, by reason
	csrfOrigin, csrfToken, csrfSession tcounter
}

// initThrottle checks the throttle options and registers the part's
// metrics on the configured meter provider (default the global one).
func (m *Manager) initThrottle() error {
	if err := m.cfg.throttle.check(); err != nil {
		return err
	}
	t := &throttleTelemetry{}
	set := func(c *tcounter, k, v string) {
		c.opt = metric.WithAttributeSet(attribute.NewSet(attribute.String(k, v)))
	}
	set(&t.allowed, "outcome", "allowed")
	set(&t.lockouts, "outcome", "lockout")
	set(&t.locked, "outcome", "locked")
	set(&t.challenged, "outcome", "challenge")
	set(&t.unavailable, "outcome", "unavailable")
	set(&t.csrfOrigin, "reason", "origin")
	set(&t.csrfToken, "reason", "token")
	set(&t.csrfSession, "reason", "session")
	mp := m.cfg.meter
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(throttleInstrumentation)
	// Instrument creation fails only for invalid names, and ours are
	// fixed; the API returns usable no-op instruments in any case.
	attempts, _ := meter.Int64ObservableCounter("session.login.throttle",
		metric.WithDescription("Login attempts seen by the throttle, by outcome: allowed, lockout (allowed and locked the key), locked, challenge, unavailable (refused: store unreachable)."))
	csrf, _ := meter.Int64ObservableCounter("session.csrf.rejected",
		metric.WithDescription("Requests refused by the CSRF middleware, by reason: origin, token, session."))
	t.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		for _, c := range []*tcounter{&t.allowed, &t.lockouts, &t.locked, &t.challenged, &t.unavailable} {
			ob.ObserveInt64(attempts, c.n.Load(), c.opt)
		}
		for _, c := range []*tcounter{&t.csrfOrigin, &t.csrfToken, &t.csrfSession} {
			ob.ObserveInt64(csrf, c.n.Load(), c.opt)
		}
		return nil
	}, attempts, csrf)
	m.cfg.throttle.tel = t
	return nil
}

func (m *Manager) closeThrottle() {
	if t := m.cfg.throttle.tel; t != nil && t.reg != nil {
		_ = t.reg.Unregister()
	}
}

// throttleTel returns the counters; a Manager not made by NewManager gets
// a throwaway set rather than a nil dereference.
func (m *Manager) throttleTel() *throttleTelemetry {
	if m.cfg.throttle.tel == nil {
		return &throttleTelemetry{}
	}
	return m.cfg.throttle.tel
}
