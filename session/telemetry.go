package session

import (
	"context"
	"errors"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const instrumentationName = "github.com/groundwork-go/groundwork/session"

// counter is one running total under fixed attributes. The hot path only
// bumps atomics; OpenTelemetry reads them through observable counters at
// collection time, as mq's telemetry does.
type counter struct {
	n   atomic.Int64
	opt metric.ObserveOption
}

func (c *counter) add() { c.n.Add(1) }

// Middleware outcomes.
const (
	outCookie = iota
	outBearer
	outRemembered
	outPublic
	outUnauthenticated
	outUnavailable
	numOutcomes
)

// Login outcomes.
const (
	loginOK = iota
	loginInvalid
	loginThrottled
	loginError
	numLogins
)

// Why a session ended.
const (
	endLogout = iota
	endLogoutAll
	endRenewed
	numEnds
)

// telemetry is a Manager's counters.
type telemetry struct {
	logins   [numLogins]counter
	requests [numOutcomes]counter
	created  [2]counter // by tier
	ended    [numEnds]counter
	storeErr [2]counter // by tier
	reg      metric.Registration
}

func tierName(t tier) string {
	if t == tierFallback {
		return "fallback"
	}
	return "primary"
}

func newTelemetry(mp metric.MeterProvider) *telemetry {
	t := &telemetry{}
	attr := func(k, v string) metric.ObserveOption {
		return metric.WithAttributeSet(attribute.NewSet(attribute.String(k, v)))
	}
	for i, o := range []string{"ok", "invalid_credentials", "throttled", "error"} {
		t.logins[i].opt = attr("outcome", o)
	}
	for i, o := range []string{"cookie", "bearer", "remembered", "public", "unauthenticated", "unavailable"} {
		t.requests[i].opt = attr("outcome", o)
	}
	for i, r := range []string{"logout", "logout_all", "renewed"} {
		t.ended[i].opt = attr("reason", r)
	}
	for _, tr := range []tier{tierPrimary, tierFallback} {
		t.created[tr].opt = attr("tier", tierName(tr))
		t.storeErr[tr].opt = attr("tier", tierName(tr))
	}
	meter := mp.Meter(instrumentationName)
	// Instrument creation fails only for invalid names, and ours are
	// fixed; the API returns usable no-op instruments in any case.
	logins, _ := meter.Int64ObservableCounter("session.logins",
		metric.WithDescription("Login attempts by outcome: ok, invalid_credentials, throttled, error."))
	requests, _ := meter.Int64ObservableCounter("session.middleware.requests",
		metric.WithDescription("Requests through Middleware by outcome: cookie, bearer, remembered (a session), public (none, served), unauthenticated (401/redirect), unavailable (store down: 503 or re-login)."))
	created, _ := meter.Int64ObservableCounter("session.sessions.created",
		metric.WithDescription("Sessions created (logins, renewals, anonymous sessions) by store tier: primary, fallback."))
	ended, _ := meter.Int64ObservableCounter("session.sessions.ended",
		metric.WithDescription("Sessions ended by reason: logout, logout_all, renewed (a new ID replaced it)."))
	storeErr, _ := meter.Int64ObservableCounter("session.store.errors",
		metric.WithDescription("Session store calls that failed (unreachable, or refused by an open breaker) by tier."))
	reg, err := meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		observe := func(inst metric.Int64ObservableCounter, cs []counter) {
			for i := range cs {
				ob.ObserveInt64(inst, cs[i].n.Load(), cs[i].opt)
			}
		}
		observe(logins, t.logins[:])
		observe(requests, t.requests[:])
		observe(created, t.created[:])
		observe(ended, t.ended[:])
		observe(storeErr, t.storeErr[:])
		return nil
	}, logins, requests, created, ended, storeErr)
	if err == nil {
		t.reg = reg
	}
	return t
}

func (t *telemetry) close() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}

// login counts a login's outcome.
func (t *telemetry) login(err error) {
	switch {
	case err == nil:
		t.logins[loginOK].add()
	case errors.Is(err, ErrInvalidCredentials):
		t.logins[loginInvalid].add()
	case errors.Is(err, ErrThrottled):
		t.logins[loginThrottled].add()
	default:
		t.logins[loginError].add()
	}
}
