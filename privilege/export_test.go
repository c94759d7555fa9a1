package privilege

import "time"

// WithClock makes the engine read time from now instead of time.Now.
func WithClock(now func() time.Time) Option { return withClock(now) }

// SetAfterDecide runs f after each computed decision, before it is cached.
func (e *Engine) SetAfterDecide(f func()) { e.afterDecide = f }

var (
	MatchPattern    = matchPattern
	PatternsOverlap = patternsOverlap
	ValidatePolicy  = validatePolicy
	ValidateRole    = validateRole
)

// WithAuditRand makes the engine sample audited allows with f.
func WithAuditRand(f func() float64) Option { return withAuditRand(f) }

// Unreachable reports whether a store error is an outage (WithFailOpen).
var Unreachable = unreachable
