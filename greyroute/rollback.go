package greyroute

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Defaults of a RollbackPolicy's zero fields.
const (
	DefaultRollbackWindow      = time.Minute
	DefaultRollbackThreshold   = 0.05
	DefaultRollbackMinRequests = 20
)

// Bounds of a RollbackPolicy.
const (
	minRollbackWindow = time.Second
	maxRollbackWindow = 24 * time.Hour
	// maxMinRequests keeps MinRequests within what one window can count
	// (a bucket holds up to 2^24−1 calls).
	maxMinRequests = countMax
)

// RollbackPolicy is when a Router rolls a failing canary back
// (WithAutoRollback): when the calls it picked on a service's rollout
// target over the last Window number at least MinRequests and more than
// Threshold of them failed.
type RollbackPolicy struct {
	// Window is the span the error rate is measured over, 1s to 24h;
	// 0 means DefaultRollbackWindow (1 minute). It slides in tenths.
	Window time.Duration
	// Threshold is the error fraction above which the canary is rolled
	// back, in (0, 1); 0 means DefaultRollbackThreshold (0.05).
	Threshold float64
	// MinRequests is the fewest calls in the window that may trigger a
	// rollback, 1 to 2^24−1; 0 means DefaultRollbackMinRequests (20).
	MinRequests int
	// OnRollback, if set, is called once per rollback this Router made,
	// on the Router's rollback goroutine: it should return soon (Close
	// waits for it, so it must not call the Router's Close itself; Pick
	// and Done are fine). A panic in it is recovered and logged.
	OnRollback func(RollbackEvent)
	// Sink, if set, is sent each rollback this Router made (greymq.Sink
	// publishes it on an mq topic); an error is logged and counted.
	Sink EventSink
	// Name identifies this Router in events (RollbackEvent.Router),
	// overriding the default: the Router's ID (WithRouterID), which also
	// names it in breaker reports. A name's rules apply (1–128 bytes, no
	// braces or control characters).
	Name string

	hook func(stage string, e RollbackEvent, status string) // tests only (rollback_export_test.go)
}

// EventSink receives the rollback events of a Router (RollbackPolicy.Sink).
// Emit is called on the Router's rollback goroutine with a context that
// Close cancels and that ends after 10s.
type EventSink interface {
	Emit(ctx context.Context, e RollbackEvent) error
}

// RollbackEvent is one automatic rollback: the canary Version of Service
// had ErrorRate (Failures of Requests) over Window as seen by Router, and
// its rollout was ended at Time. ID is unique per rollback and travels
// with it (mq consumers may deduplicate on it). Its JSON form is what
// greymq publishes and what Table.LastRollback reads back.
type RollbackEvent struct {
	ID        string        `json:"id"`
	Service   string        `json:"service"`
	Version   string        `json:"version"`
	ErrorRate float64       `json:"error_rate"`
	Requests  int64         `json:"requests"`
	Failures  int64         `json:"failures"`
	Window    time.Duration `json:"window_ns"`
	Time      time.Time     `json:"time"`
	Router    string        `json:"router"`
}

// WithAutoRollback makes the Router watch the outcome (Done) of every call
// it picked on a service's rollout target and end the rollout when p says
// the target is failing, overriding the default, no automatic rollback:
// see the package doc's # Auto-rollback. A bad field is an error wrapping
// ErrInvalid that names it. Router only.
func WithAutoRollback(p RollbackPolicy) Option {
	return routerOption("WithAutoRollback", func(c *routerConfig) error {
		q := p // a copy per Router: the Option may be reused
		if err := q.normalize(); err != nil {
			return fmt.Errorf("WithAutoRollback: %w", err)
		}
		c.rollback = &q
		return nil
	})
}

// normalize checks p and fills its defaults.
func (p *RollbackPolicy) normalize() error {
	switch {
	case p.Window == 0:
		p.Window = DefaultRollbackWindow
	case p.Window < minRollbackWindow || p.Window > maxRollbackWindow:
		return fmt.Errorf("%w: RollbackPolicy.Window %v: want %v to %v (0: the default)", ErrInvalid, p.Window, minRollbackWindow, maxRollbackWindow)
	}
	switch {
	case p.Threshold == 0:
		p.Threshold = DefaultRollbackThreshold
	case math.IsNaN(p.Threshold) || p.Threshold < 0 || p.Threshold >= 1:
		return fmt.Errorf("%w: RollbackPolicy.Threshold %v: want an error fraction above 0 and below 1 (0: the default)", ErrInvalid, p.Threshold)
	}
	switch {
	case p.MinRequests == 0:
		p.MinRequests = DefaultRollbackMinRequests
	case p.MinRequests < 0 || p.MinRequests > maxMinRequests:
		return fmt.Errorf("%w: RollbackPolicy.MinRequests %d: want 1 to %d (0: the default)", ErrInvalid, p.MinRequests, maxMinRequests)
	}
	if p.Name == "" {
		return nil // the Router's ID (WithRouterID) names it
	}
	return validName("RollbackPolicy.Name", p.Name)
}

// decodeRollback reads the last_rollback field of a route hash; nil when
// absent or not a RollbackEvent.
func decodeRollback(s string) *RollbackEvent {
	if s == "" {
		return nil
	}
	var e RollbackEvent
	if json.Unmarshal([]byte(s), &e) != nil {
		return nil
	}
	return &e
}
