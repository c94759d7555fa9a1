package greyroute

import (
	"context"
	"errors"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const instrumentationName = "github.com/groundwork-go/groundwork/greyroute"

// counter is one running total. Writes only bump atomics; OpenTelemetry
// reads them through an observable counter at collection time, as mq's
// telemetry does.
type counter struct {
	n   atomic.Int64
	opt metric.ObserveOption
}

// adminOps are the Admin's writes, as the greyroute.op attribute names them.
var adminOps = []string{"register", "heartbeat", "deregister", "pin", "unpin", "set_stable", "set_fallback",
	"set_rollout", "require_schema", "set_health", "set_schema", "move_tenant"}

// Outcomes of a write: done (or found done), refused by the table's state
// (ErrNotFound, ErrSchema, an invalid rollout), refused before reaching
// Redis (bad arguments), or failed (Redis, a migration).
const (
	outcomeOK = iota
	outcomeRefused
	outcomeInvalid
	outcomeError
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"ok", "refused", "invalid", "error"}

// adminTelemetry is an Admin's instruments.
type adminTelemetry struct {
	writes map[string]*[numOutcomes]counter // by op; built once, read-only after
	reg    metric.Registration
}

func newAdminTelemetry(mp metric.MeterProvider) *adminTelemetry {
	t := &adminTelemetry{writes: make(map[string]*[numOutcomes]counter, len(adminOps))}
	for _, op := range adminOps {
		var cs [numOutcomes]counter
		for i := range cs {
			cs[i].opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("greyroute.op", op), attribute.String("outcome", outcomeNames[i])))
		}
		t.writes[op] = &cs
	}
	meter := mp.Meter(instrumentationName)
	// Instrument creation fails only for invalid names, and ours are
	// fixed; the API returns usable no-op instruments in any case.
	writes, _ := meter.Int64ObservableCounter("greyroute.admin.writes",
		metric.WithDescription("Admin writes by operation and outcome (ok, refused, invalid, error)."))
	t.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		for _, op := range adminOps {
			cs := t.writes[op]
			for i := range cs {
				ob.ObserveInt64(writes, cs[i].n.Load(), cs[i].opt)
			}
		}
		return nil
	}, writes)
	return t
}

// done counts one write of op that ended with err.
func (t *adminTelemetry) done(op string, err error) {
	o := outcomeOK
	switch {
	case err == nil:
	case errors.As(err, new(refused)):
		o = outcomeRefused
	case errors.Is(err, ErrInvalid):
		o = outcomeInvalid
	default:
		o = outcomeError
	}
	t.writes[op][o].n.Add(1)
}

// refused marks an error as the table's answer (a script's refusal), not a
// bad argument or a failure; its message is the wrapped error's.
type refused struct{ error }

func (r refused) Unwrap() error { return r.error }

func (t *adminTelemetry) close() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}
