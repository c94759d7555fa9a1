package greyroute

import (
	"cmp"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/groundwork-go/groundwork/internal/redisx"
)

var (
	//go:embed scripts/rollback.lua
	rollbackLua    string
	rollbackScript = redis.NewScript(preludeLua + rollbackLua)
)

// sinkTimeout bounds one EventSink.Emit.
const sinkTimeout = 10 * time.Second

// Rollback outcomes, as the outcome attribute of greyroute.rollbacks
// names them.
const (
	rbRolledBack = iota // this Router's script ended the rollout
	rbAlready           // the rollout was no longer to the version: nothing done
	rbFailed            // the script failed for good (not Redis being away)
	rbEmitFailed        // OnRollback panicked or the Sink returned an error
	numRollbackOutcomes
)

var rollbackOutcomeNames = [numRollbackOutcomes]string{"rolled_back", "already", "failed", "emit_failed"}

// rollbacker is a Router's auto-rollback (WithAutoRollback): the windows
// of the services' rollout targets, fed by Done, and the one goroutine
// that acts when one trips.
type rollbacker struct {
	r       *Router
	p       RollbackPolicy
	windows map[string]*rollbackWindow // service → its rollout target's window; guarded by r.mu
	sig     chan struct{}              // capacity 1: "a window tripped"

	outcomes [numRollbackOutcomes]atomic.Int64
	reg      metric.Registration
}

// newRollbacker returns r's rollbacker, nil without WithAutoRollback.
func newRollbacker(r *Router) *rollbacker {
	p := r.cfg.router.rollback
	if p == nil {
		return nil
	}
	return &rollbacker{r: r, p: *p, windows: map[string]*rollbackWindow{}, sig: make(chan struct{}, 1)}
}

// start registers the metric and starts the goroutine; both end with ctx.
func (rb *rollbacker) start(ctx context.Context) {
	if rb == nil {
		return
	}
	meter := rb.r.cfg.meter.Meter(instrumentationName)
	ctr, _ := meter.Int64ObservableCounter("greyroute.rollbacks",
		metric.WithDescription("Auto-rollback decisions of the Router by outcome (rolled_back, already, failed, emit_failed)."))
	var opts [numRollbackOutcomes]metric.ObserveOption
	for i := range opts {
		opts[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", rollbackOutcomeNames[i])))
	}
	rb.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		for i := range opts {
			ob.ObserveInt64(ctr, rb.outcomes[i].Load(), opts[i])
		}
		return nil
	}, ctr)
	rb.r.wg.Add(1)
	go rb.run(ctx)
}

// canaryWindow returns the window of t's rollout target — kept across
// reloads while the rollout stays, new when it changes (another target,
// or the same one set again: a new rollout_since) — or nil when no
// rollout is active. A window no longer current is retired: calls picked
// under an older table no longer count. Called with r.mu held.
func (r *Router) canaryWindow(t Table) *rollbackWindow {
	rb := r.rb
	if rb == nil {
		return nil
	}
	active := t.RolloutTo != "" && t.RolloutBP > 0 && t.RolloutTo != t.Stable
	w := rb.windows[t.Service]
	if w != nil && active && w.version == t.RolloutTo && w.since == t.RolloutSince {
		return w
	}
	if w != nil {
		w.retired.Store(true)
		delete(rb.windows, t.Service)
	}
	if !active {
		return nil
	}
	w = newRollbackWindow(t.Service, t.RolloutTo, int64(rb.p.Window))
	w.since = t.RolloutSince
	rb.windows[t.Service] = w
	return w
}

// observe counts a Done of a call picked on w's version: atomics only.
// A cancelled call is neither success nor failure, as for the breaker.
func (rb *rollbacker) observe(w *rollbackWindow, err error) {
	if errors.Is(err, context.Canceled) || w.retired.Load() {
		return
	}
	now := rb.r.cfg.clock().UnixNano()
	w.add(now, err != nil)
	if w.tripped.Load() || now < w.notBefore.Load() {
		return
	}
	if calls, fails := w.tally(now); rb.trips(calls, fails) && w.tripped.CompareAndSwap(false, true) {
		rb.hook("trip", RollbackEvent{Service: w.service, Version: w.version, Requests: calls, Failures: fails}, "")
		select {
		case rb.sig <- struct{}{}:
		default: // already signalled: the goroutine will find this window too
		}
	}
}

// unavailable counts a failure of t's rollout target when a Pick resolved
// to it found none of its instances available. A canary failing every
// call soon has every breaker open, and then its calls never reach Done:
// without this, the window would stop at the breakers' few failures.
func (rb *rollbacker) unavailable(t *svcTable, version string) {
	if rb != nil && t.canary != nil && t.canary.version == version {
		rb.observe(t.canary, errCanaryUnavailable)
	}
}

var errCanaryUnavailable = errors.New("greyroute: no available instance of the rollout target")

func (rb *rollbacker) trips(calls, failures int64) bool {
	return calls >= int64(rb.p.MinRequests) && float64(failures) > rb.p.Threshold*float64(calls)
}

// run acts on tripped windows, one at a time, until ctx ends.
func (rb *rollbacker) run(ctx context.Context) {
	defer rb.r.wg.Done()
	defer func() {
		if rb.reg != nil {
			_ = rb.reg.Unregister()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-rb.sig:
		}
		rb.r.mu.Lock()
		var ws []*rollbackWindow
		for _, w := range rb.windows {
			if w.tripped.Load() {
				ws = append(ws, w)
			}
		}
		rb.r.mu.Unlock()
		slices.SortFunc(ws, func(a, b *rollbackWindow) int { return strings.Compare(a.service, b.service) })
		for _, w := range ws {
			if ctx.Err() != nil {
				return
			}
			rb.rollback(ctx, w)
		}
	}
}

// rollback ends w's rollout if the window still says so, and tells of it
// when this Router's script made the change.
func (rb *rollbacker) rollback(ctx context.Context, w *rollbackWindow) {
	now := rb.r.cfg.clock()
	calls, fails := w.tally(now.UnixNano())
	if w.retired.Load() || !rb.trips(calls, fails) {
		w.tripped.Store(false) // the rollout changed, or the failures aged out meanwhile
		return
	}
	e := RollbackEvent{ID: rand.Text(), Service: w.service, Version: w.version,
		ErrorRate: float64(fails) / float64(calls), Requests: calls, Failures: fails,
		Window: rb.p.Window, Time: now, Router: cmp.Or(rb.p.Name, rb.r.cfg.router.id)}
	status, err := rb.attempt(ctx, e, w.since)
	if err != nil {
		if ctx.Err() != nil {
			return // Close
		}
		// A permanent error (not Redis being away): say so, and look
		// again only after a window of fresh calls rather than on every
		// Done.
		rb.outcomes[rbFailed].Add(1)
		rb.r.cfg.router.logger.Error("greyroute: auto-rollback failed", "service", e.Service, "version", e.Version, "err", err)
		w.notBefore.Store(now.Add(rb.p.Window).UnixNano())
		w.reset()
		w.tripped.Store(false)
		return
	}
	// Either way the counts are spent: a rollback resets the window.
	w.reset()
	w.tripped.Store(false)
	rb.hook("after", e, status)
	if status != "ok" {
		rb.outcomes[rbAlready].Add(1)
		return
	}
	rb.outcomes[rbRolledBack].Add(1)
	rb.r.cfg.router.logger.Warn("greyroute: canary rolled back", "service", e.Service, "version", e.Version,
		"error_rate", e.ErrorRate, "requests", e.Requests, "failures", e.Failures, "window", e.Window)
	rb.emit(ctx, e)
}

// attempt runs the rollback script until it answers, retrying with backoff
// while Redis is unreachable. Every attempt carries e.ID, so a retry after
// a lost reply finds its own change and answers "ok" without making
// another. The script acts only on the rollout since names (w.since). It
// returns the script's status ("ok" or "already").
func (rb *rollbacker) attempt(ctx context.Context, e RollbackEvent, since int64) (string, error) {
	record, err := json.Marshal(e)
	if err != nil {
		return "", err // a RollbackEvent always encodes
	}
	r := rb.r
	keys := serviceKeys(r.cfg.prefix, e.Service).list()
	backoff := minBackoff
	for {
		rb.hook("before", e, "")
		vals, err := rollbackScript.Run(ctx, r.client, keys, changedChannel(r.cfg.prefix), e.Service, e.Time.UnixMilli(),
			e.Version, e.ID, string(record), since).Slice()
		if err == nil {
			if len(vals) >= 1 {
				if s, ok := vals[0].(string); ok && (s == "ok" || s == "already") {
					return s, nil
				}
			}
			return "", fmt.Errorf("greyroute: rollback of %q of service %q: unexpected script reply %v", e.Version, e.Service, vals)
		}
		if ctx.Err() != nil || !redisx.Retryable(err) {
			return "", wrapRedis(ctx, fmt.Sprintf("rollback of %q of service %q", e.Version, e.Service), err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// emit tells OnRollback and the Sink of e; neither can stop the other.
func (rb *rollbacker) emit(ctx context.Context, e RollbackEvent) {
	log := rb.r.cfg.router.logger
	if f := rb.p.OnRollback; f != nil {
		if err := callSafely(func() error { f(e); return nil }); err != nil {
			rb.outcomes[rbEmitFailed].Add(1)
			log.Error("greyroute: OnRollback panicked", "service", e.Service, "version", e.Version, "err", err)
		}
	}
	if s := rb.p.Sink; s != nil {
		ectx, cancel := context.WithTimeout(ctx, sinkTimeout)
		err := callSafely(func() error { return s.Emit(ectx, e) })
		cancel()
		if err != nil {
			rb.outcomes[rbEmitFailed].Add(1)
			log.Error("greyroute: rollback event not delivered to the sink", "service", e.Service, "version", e.Version, "id", e.ID, "err", err)
		}
	}
}

// callSafely runs f, turning a panic into an error.
func callSafely(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return f()
}

func (rb *rollbacker) hook(stage string, e RollbackEvent, status string) {
	if h := rb.p.hook; h != nil {
		h(stage, e, status)
	}
}
