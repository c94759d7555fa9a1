package privilege

import (
	"fmt"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// Combining resolves a permit and a deny of the same priority.
type Combining int

const (
	// DenyOverrides lets a deny win a tie (the default).
	DenyOverrides Combining = iota
	// PermitOverrides lets a permit win a tie.
	PermitOverrides
)

// String returns "deny-overrides" or "permit-overrides".
func (c Combining) String() string {
	switch c {
	case DenyOverrides:
		return "deny-overrides"
	case PermitOverrides:
		return "permit-overrides"
	}
	return fmt.Sprintf("Combining(%d)", int(c))
}

// Option configures an Engine.
type Option func(*options) error

type options struct {
	combining Combining
	l1Size    int
	l1TTL     time.Duration
	meter     metric.MeterProvider
	now       func() time.Time

	audit       AuditSink
	auditSample float64        // fraction of allows audited
	auditRand   func() float64 // in [0, 1); samples allows
}

func defaultOptions() options {
	return options{
		combining: DenyOverrides,
		l1Size:    10_000,
		l1TTL:     time.Minute,
		meter:     otel.GetMeterProvider(),
		now:       time.Now,
		auditRand: rand.Float64,
	}
}

// WithCombining overrides the default combining algorithm (DenyOverrides)
// used when policies of the same priority disagree.
func WithCombining(c Combining) Option {
	return func(o *options) error {
		if c != DenyOverrides && c != PermitOverrides {
			return fmt.Errorf("%w: combining algorithm %d", ErrInvalid, int(c))
		}
		o.combining = c
		return nil
	}
}

// WithL1 overrides the default local decision cache (10,000 decisions, each
// kept at most a minute); size 0 turns it off. Entries are keyed by the
// store's Version as well, so a write makes them unreachable at once; ttl
// only bounds memory held by requests that are not repeated.
func WithL1(size int, ttl time.Duration) Option {
	return func(o *options) error {
		if size < 0 || ttl < 0 || (size > 0 && ttl == 0) {
			return fmt.Errorf("%w: L1 size %d, ttl %v", ErrInvalid, size, ttl)
		}
		o.l1Size, o.l1TTL = size, ttl
		return nil
	}
}

// WithMeterProvider overrides the default meter provider (the global one).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) error {
		if mp == nil {
			return fmt.Errorf("%w: nil meter provider", ErrInvalid)
		}
		o.meter = mp
		return nil
	}
}

// withClock overrides time.Now; tests move time without sleeping.
func withClock(now func() time.Time) Option {
	return func(o *options) error {
		o.now = now
		return nil
	}
}
