package session

import (
	"context"
	"errors"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const tokensInstrumentation = "github.com/groundwork-go/groundwork/session"

// tokenCounter is one outcome's running total. Hot paths only bump
// atomics; OpenTelemetry reads them at collection time.
type tokenCounter struct {
	n   atomic.Int64
	opt metric.ObserveOption
}

func (c *tokenCounter) add(n int) { c.n.Add(int64(n)) }

// tokenTelemetry counts what the token part does.
type tokenTelemetry struct {
	reg    metric.Registration
	issued tokenCounter
	// VerifyToken outcomes: ok from the mirror, ok after asking the store
	// (watch down), invalid, revoked, store unavailable.
	verifyOK, verifyStore, verifyInvalid, verifyRevoked, verifyUnavailable tokenCounter
	refreshOK, refreshInvalid, refreshRevoked, refreshReused               tokenCounter
}

func newTokenTelemetry(mp metric.MeterProvider, mr *mirror) *tokenTelemetry {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	t := &tokenTelemetry{}
	set := func(c *tokenCounter, outcome string) {
		c.opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", outcome)))
	}
	set(&t.issued, "ok")
	set(&t.verifyOK, "ok")
	set(&t.verifyStore, "ok_store")
	set(&t.verifyInvalid, "invalid")
	set(&t.verifyRevoked, "revoked")
	set(&t.verifyUnavailable, "unavailable")
	set(&t.refreshOK, "ok")
	set(&t.refreshInvalid, "invalid")
	set(&t.refreshRevoked, "revoked")
	set(&t.refreshReused, "reused")
	meter := mp.Meter(tokensInstrumentation)
	// Instrument creation fails only for invalid names, and ours are
	// fixed; the API returns usable no-op instruments in any case.
	issued, _ := meter.Int64ObservableCounter("session.tokens.issued", metric.WithDescription("Token pairs issued by IssueToken."))
	verified, _ := meter.Int64ObservableCounter("session.tokens.verified", metric.WithDescription("VerifyToken outcomes; ok_store: verified by asking the store while the revocation watch was down."))
	refreshed, _ := meter.Int64ObservableCounter("session.tokens.refreshed", metric.WithDescription("RefreshToken outcomes; reused: a spent refresh token revoked its family."))
	trusted, _ := meter.Int64ObservableGauge("session.tokens.watch.up", metric.WithDescription("1 while the revocation watch is established and VerifyToken needs no round trip."))
	entries, _ := meter.Int64ObservableGauge("session.tokens.mirror.entries", metric.WithDescription("Revocations held in the local mirror."))
	t.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		ob.ObserveInt64(issued, t.issued.n.Load(), t.issued.opt)
		for _, c := range []*tokenCounter{&t.verifyOK, &t.verifyStore, &t.verifyInvalid, &t.verifyRevoked, &t.verifyUnavailable} {
			ob.ObserveInt64(verified, c.n.Load(), c.opt)
		}
		for _, c := range []*tokenCounter{&t.refreshOK, &t.refreshInvalid, &t.refreshRevoked, &t.refreshReused} {
			ob.ObserveInt64(refreshed, c.n.Load(), c.opt)
		}
		up := int64(0)
		if mr.trusted.Load() {
			up = 1
		}
		ob.ObserveInt64(trusted, up)
		ob.ObserveInt64(entries, int64(mr.size()))
		return nil
	}, issued, verified, refreshed, trusted, entries)
	return t
}

// refreshed counts a RefreshToken outcome.
func (t *tokenTelemetry) refreshed(err error) {
	switch {
	case err == nil:
		t.refreshOK.add(1)
	case errors.Is(err, ErrRefreshReused):
		t.refreshReused.add(1)
	case errors.Is(err, ErrTokenRevoked):
		t.refreshRevoked.add(1)
	default:
		t.refreshInvalid.add(1)
	}
}

func (t *tokenTelemetry) close() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}
