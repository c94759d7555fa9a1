package greyroute

import (
	"cmp"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/redisx"
	"github.com/groundwork-go/groundwork/resilience"
)

// Breakers are each Router's own (they count its calls), so the admin
// page cannot read them: every Router reports its breakers' transitions
// to Redis, in p{s}:breakers (see the package doc's # Redis layout), for
// the page to show the worst state any Router reports. A transition only
// queues the report (it may happen inside a Pick, which does no I/O); a
// goroutine of the Router writes it.

//go:embed scripts/breaker.lua
var breakerLua string

var breakerScript = redis.NewScript(breakerLua)

// reportMaxAge is how long a report that is never superseded is kept: the
// Router that wrote it has most likely gone without saying so.
const reportMaxAge = 24 * time.Hour

// reportTimeout bounds one report's write, and the final flush in Close.
const reportTimeout = 5 * time.Second

// BreakerReport is one Router's report of an instance's breaker, as
// Admin.Breakers reads it. Only breakers that are not closed are
// reported: a closed breaker removes its Router's report.
type BreakerReport struct {
	State  string    `json:"state"`  // "open" or "half-open"
	Router string    `json:"router"` // the reporting Router's ID (WithRouterID)
	At     time.Time `json:"at"`     // the transition, by the Router's clock
}

// WithRouterID names the Router in its breaker reports, overriding the
// default "<hostname>-<pid>-<random>". 1–128 bytes, no control characters
// or braces. Router only.
func WithRouterID(id string) Option {
	return routerOption("WithRouterID", func(c *routerConfig) error {
		if err := validName("WithRouterID", id); err != nil {
			return err
		}
		c.id = id
		return nil
	})
}

// defaultRouterID is unique per Router: hostname, pid and random bytes.
func defaultRouterID() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	id := fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	if validName("id", id) != nil { // an odd or very long hostname
		id = fmt.Sprintf("router-%d-%s", os.Getpid(), hex.EncodeToString(b[:]))
	}
	return id
}

// reportKey names one instance of one service.
type reportKey struct{ service, id string }

// reportVal is the newest transition of one instance's breaker.
type reportVal struct {
	state resilience.BreakerState
	at    int64 // Unix ms
}

// reporter holds the transitions not yet written, the newest per
// instance, so a flapping breaker costs one write per flush.
type reporter struct {
	mu      sync.Mutex
	pending map[reportKey]reportVal
	// notClosed holds the instances whose last queued state is not
	// closed: a report of this Router stands in Redis for them until a
	// closed one replaces it, even once their breaker is gone (the
	// instance left the table, the Router closes).
	notClosed map[reportKey]bool
	sig       chan struct{} // capacity 1
	failing   bool          // a flush failed and none succeeded since: logged; report goroutine only
}

func newReporter() *reporter {
	return &reporter{pending: map[reportKey]reportVal{}, notClosed: map[reportKey]bool{}, sig: make(chan struct{}, 1)}
}

// queue records a transition without blocking: it runs under gobreaker's
// mutex, possibly inside a Pick.
func (p *reporter) queue(k reportKey, v reportVal) {
	p.mu.Lock()
	p.pending[k] = v
	if v.state == resilience.StateClosed {
		delete(p.notClosed, k)
	} else {
		p.notClosed[k] = true
	}
	p.mu.Unlock()
	select {
	case p.sig <- struct{}{}:
	default:
	}
}

func (p *reporter) take() map[reportKey]reportVal {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.pending
	p.pending = map[reportKey]reportVal{}
	return m
}

// requeue puts back what a flush failed to write, unless a newer
// transition came meanwhile.
func (p *reporter) requeue(m map[reportKey]reportVal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range m {
		if _, newer := p.pending[k]; !newer {
			p.pending[k] = v
		}
	}
}

// closeAll queues a closed breaker, at time at, for every instance
// whose last report is not closed.
func (p *reporter) closeAll(at int64) {
	p.mu.Lock()
	keys := slices.Collect(maps.Keys(p.notClosed))
	p.mu.Unlock()
	for _, k := range keys {
		p.queue(k, reportVal{state: resilience.StateClosed, at: at})
	}
}

// breakerPolicy is the Router's breaker policy for instance id of
// service: the configured one, reporting its transitions. It is asked
// for when the instance gets a new breaker, closed: an instance that
// left the table (its breaker went with it) and came back under its ID.
// A report of the old breaker not closed is taken back: it would show on
// the page for a day.
func (r *Router) breakerPolicy(service, id string) resilience.BreakerPolicy {
	p := r.cfg.router.breaker
	user := p.OnStateChange
	k := reportKey{service, id}
	r.rep.mu.Lock()
	stale := r.rep.notClosed[k]
	r.rep.mu.Unlock()
	if stale {
		r.rep.queue(k, reportVal{state: resilience.StateClosed, at: r.cfg.clock().UnixMilli()})
	}
	p.OnStateChange = func(name string, from, to resilience.BreakerState) {
		r.rep.queue(k, reportVal{state: to, at: r.cfg.clock().UnixMilli()})
		if user != nil {
			user(name, from, to)
		}
	}
	return p
}

// report writes the queued transitions until ctx ends, then, at Close,
// what is left once more within reportTimeout. A failed write is retried
// at the next transition or after a backoff.
func (r *Router) report(ctx context.Context) {
	defer r.wg.Done()
	backoff := minBackoff
	retry := time.NewTimer(backoff)
	retry.Stop()
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
			r.flushReports(fctx)
			cancel()
			return
		case <-r.rep.sig:
		case <-retry.C:
		}
		ok := r.flushReports(ctx)
		if h := r.cfg.router.hooks.reported; h != nil {
			h()
		}
		if ok {
			backoff = minBackoff
			retry.Stop()
			continue
		}
		retry.Reset(backoff)
		backoff = min(2*backoff, maxBackoff)
	}
}

// flushReports writes every queued transition. Those that fail because
// Redis is unreachable are put back, to be retried; a report Redis
// refuses (a script error: a value no Router wrote in the way) would be
// refused again, and is dropped. Both are logged once until a flush
// succeeds. It reports whether nothing was put back.
func (r *Router) flushReports(ctx context.Context) bool {
	m := r.rep.take()
	retry := map[reportKey]reportVal{}
	var firstErr error
	for k, v := range m {
		if len(retry) > 0 { // Redis is unreachable: keep the rest for the retry
			retry[k] = v
			continue
		}
		args := []any{k.id, r.cfg.router.id, v.state.String(), v.at, v.at - reportMaxAge.Milliseconds()}
		err := breakerScript.Run(ctx, r.client, []string{breakersKey(r.cfg.prefix, k.service)}, args...).Err()
		if err == nil {
			continue
		}
		firstErr = cmp.Or(firstErr, fmt.Errorf("report of %q of service %q: %w", k.id, k.service, err))
		if redisx.Retryable(err) || ctx.Err() != nil {
			retry[k] = v
		}
	}
	r.rep.requeue(retry)
	switch {
	case firstErr == nil:
		r.rep.failing = false
	case !r.rep.failing && ctx.Err() == nil:
		r.rep.failing = true
		r.cfg.router.logger.Warn("greyroute: cannot report breaker states for the admin page", "retried", len(retry), "err", firstErr)
	}
	return len(retry) == 0
}

// reportClosing queues, at Close, a closed breaker for every instance
// whose last report is not: a Router that is gone has no breaker, and
// its reports must not outlive it — also those of instances that left
// its table with their breaker open.
func (r *Router) reportClosing() {
	r.rep.closeAll(r.cfg.clock().UnixMilli())
}

// breakersKey is the hash of service's breaker reports.
func breakersKey(prefix, service string) string { return prefix + "{" + service + "}:breakers" }

// Breakers returns the breaker reports of service's instances (instance
// ID → reports, the worst first: open, then half-open, the newest first
// within a state). An instance no Router reports is absent: its breakers
// are closed. Reports are written by each Router shortly after a
// transition, so they lag it; one older than 24h is dropped at the next
// report on its instance.
func (a *Admin) Breakers(ctx context.Context, service string) (map[string][]BreakerReport, error) {
	if err := validName("service", service); err != nil {
		return nil, fmt.Errorf("greyroute: breakers: %w", err)
	}
	what := fmt.Sprintf("breakers of service %q", service)
	if a.closed.Load() {
		return nil, fmt.Errorf("greyroute: %s: %w", what, ErrClosed)
	}
	all, err := a.client.HGetAll(ctx, breakersKey(a.cfg.prefix, service)).Result()
	if err != nil {
		return nil, wrapRedis(ctx, what, err)
	}
	out := make(map[string][]BreakerReport, len(all))
	for id, raw := range all {
		var m map[string]struct {
			State string `json:"state"`
			At    int64  `json:"at"`
		}
		if json.Unmarshal([]byte(raw), &m) != nil {
			continue // not a Router's: nothing to show
		}
		var reps []BreakerReport
		for router, e := range m {
			if e.State == "open" || e.State == "half-open" {
				reps = append(reps, BreakerReport{State: e.State, Router: router, At: time.UnixMilli(e.At)})
			}
		}
		if len(reps) == 0 {
			continue
		}
		slices.SortFunc(reps, func(x, y BreakerReport) int {
			return cmp.Or(cmp.Compare(severity(y.State), severity(x.State)), y.At.Compare(x.At), cmp.Compare(x.Router, y.Router))
		})
		out[id] = reps
	}
	return out, nil
}

func severity(state string) int {
	if state == "open" {
		return 2
	}
	return 1
}

// initReports makes the Router's reporter and, unless WithRouterID gave
// one, its ID.
func (r *Router) initReports() {
	r.rep = newReporter()
	if r.cfg.router.id == "" {
		r.cfg.router.id = defaultRouterID()
	}
}
