package session

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// devicesScope is the instrumentation scope (the package path; core may
// own one constant for it once the parts are joined).
const devicesScope = "github.com/groundwork-go/groundwork/session"

// deviceCounter is one remember-me outcome's running total; the counters
// are read at collection time, so the request path only bumps an atomic.
type deviceCounter struct {
	n   atomic.Int64
	opt metric.ObserveOption
}

func (c *deviceCounter) inc() { c.n.Add(1) }

// deviceState is a Manager's remember-me telemetry.
type deviceState struct {
	reg metric.Registration
	// issued: Remember gave a device cookie; resumed: a device started a
	// session and was rotated; grace: it started one with its previous
	// validator; theft: a wrong validator revoked the user's devices;
	// unknown: a well-formed cookie of no live device; malformed: a cookie
	// that is not one of ours.
	issued, resumed, grace, theft, unknown, malformed deviceCounter
}

func (m *Manager) initDevices() {
	d := &deviceState{}
	m.devices = d
	all := map[string]*deviceCounter{"issued": &d.issued, "resumed": &d.resumed, "grace": &d.grace,
		"theft": &d.theft, "unknown": &d.unknown, "malformed": &d.malformed}
	for outcome, c := range all {
		c.opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", outcome)))
	}
	mp := m.cfg.meter
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(devicesScope)
	// Instrument creation fails only for invalid names, and ours is fixed;
	// the API returns a usable no-op instrument in any case.
	events, _ := meter.Int64ObservableCounter("session.remember_me",
		metric.WithDescription("Remember-me device events, by outcome."))
	d.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		for _, c := range all {
			ob.ObserveInt64(events, c.n.Load(), c.opt)
		}
		return nil
	}, events)
}

func (m *Manager) closeDevices() {
	if m.devices != nil && m.devices.reg != nil {
		_ = m.devices.reg.Unregister()
	}
}
