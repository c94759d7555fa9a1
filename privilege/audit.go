package privilege

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// AuditEvent is one access decision as the audit trail records it.
type AuditEvent struct {
	Subject, Resource, Action string
	Allowed                   bool
	Reason, PolicyID, Role    string
	Version                   uint64    // the store version decided at
	Time                      time.Time // when the decision was made (the engine's clock)
	// Source is where the decision came from: "l1" (the local decision
	// cache), "l2" (the Redis one), "computed", "failopen" (the last known
	// decision, served under WithFailOpen while the store is unreachable)
	// or "error" (a fail-closed deny: bad request, store unreachable,
	// engine closed).
	Source string
}

// AuditSink receives every audited decision. Audit is called on the
// checking goroutine after the decision is made, with no lock held, so a
// slow sink slows Check: a sink that does I/O should hand events off. A
// panic in Audit is recovered and counted (privilege.audit.panics); the
// decision is returned unchanged.
type AuditSink interface {
	Audit(ctx context.Context, e AuditEvent)
}

// Audit sources.
const (
	sourceL1       = "l1"
	sourceComputed = "computed"
	sourceError    = "error"
	sourceL2       = "l2"
	sourceFailOpen = "failopen"
)

// WithAudit sends decisions to sink, overriding the default of no audit.
// sampleAllows is the fraction of allows sent (1: all, 0: none); denies,
// including fail-closed ones, are always sent. A nil sink or a rate
// outside [0, 1] is ErrInvalid.
func WithAudit(sink AuditSink, sampleAllows float64) Option {
	return func(o *options) error {
		if sink == nil {
			return fmt.Errorf("%w: nil audit sink", ErrInvalid)
		}
		if !(sampleAllows >= 0 && sampleAllows <= 1) { // also refuses NaN
			return fmt.Errorf("%w: audit sample rate %v, want 0 to 1", ErrInvalid, sampleAllows)
		}
		o.audit, o.auditSample = sink, sampleAllows
		return nil
	}
}

// withAuditRand overrides the random source that samples allows; tests
// make sampling deterministic with it.
func withAuditRand(f func() float64) Option {
	return func(o *options) error {
		o.auditRand = f
		return nil
	}
}

// audit sends one decision to the sink, if any and if sampled in. With no
// sink it returns at once: the hot path stays free of allocations.
func (e *Engine) audit(ctx context.Context, req *Request, d Decision, source string) {
	sink := e.o.audit
	if sink == nil {
		return
	}
	if d.Allowed && e.o.auditSample < 1 && !(e.o.auditRand() < e.o.auditSample) {
		return
	}
	defer func() {
		if recover() != nil {
			e.tel.auditPanic()
		}
	}()
	sink.Audit(ctx, AuditEvent{
		Subject: req.Subject, Resource: req.Resource, Action: req.Action,
		Allowed: d.Allowed, Reason: d.Reason, PolicyID: d.PolicyID, Role: d.Role,
		Version: d.Version, Time: e.o.now(), Source: source,
	})
}

// SlogAudit returns a sink that writes each event to logger as one Info
// record, "privilege decision", with the attributes subject, resource,
// action, allowed, reason, policy_id, role, version and source. The
// event's Time is the record's time (the handler's "time" key), so a line
// has one time, the decision's. A nil logger is slog.Default().
func SlogAudit(logger *slog.Logger) AuditSink {
	if logger == nil {
		logger = slog.Default()
	}
	return slogAudit{logger.Handler()}
}

type slogAudit struct{ h slog.Handler }

func (s slogAudit) Audit(ctx context.Context, e AuditEvent) {
	if !s.h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	r := slog.NewRecord(e.Time, slog.LevelInfo, "privilege decision", 0)
	r.AddAttrs(
		slog.String("subject", e.Subject),
		slog.String("resource", e.Resource),
		slog.String("action", e.Action),
		slog.Bool("allowed", e.Allowed),
		slog.String("reason", e.Reason),
		slog.String("policy_id", e.PolicyID),
		slog.String("role", e.Role),
		slog.Uint64("version", e.Version),
		slog.String("source", e.Source),
	)
	_ = s.h.Handle(ctx, r) // a sink has nowhere to report a failed write
}
