package greyroute

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/redisx"
)

// Backoff between attempts to resubscribe after the subscription failed.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// pending is what the change events asked the loader to reload, merged:
// the highest rev announced per service (or "{tenants}"), or everything.
type pending struct {
	mu   sync.Mutex
	revs map[string]int64
	all  bool
	sig  chan struct{} // capacity 1: "there is something"
}

func (p *pending) add(what string, rev int64, all bool) {
	p.mu.Lock()
	if all {
		p.all = true
	} else {
		if p.revs == nil {
			p.revs = map[string]int64{}
		}
		p.revs[what] = max(p.revs[what], rev)
	}
	p.mu.Unlock()
	select {
	case p.sig <- struct{}{}:
	default:
	}
}

func (p *pending) take() (map[string]int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	revs, all := p.revs, p.all
	p.revs, p.all = nil, false
	return revs, all
}

// receive reads the change channel. An event is handed to the loader; a
// (re)subscription asks it for a full resync, since events published while
// the subscription was down are lost. An error marks the table stale and
// the subscription is retried with backoff (go-redis reconnects and
// resubscribes on the next Receive).
func (r *Router) receive(ctx context.Context) {
	defer r.wg.Done()
	backoff := minBackoff
	for {
		msg, err := r.ps.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			r.outage(err)
			if h := r.cfg.router.hooks.reconnect; h != nil {
				h()
			}
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			backoff = minBackoff
			r.pending.add("", 0, true)
		case *redis.Message:
			what, rev, ok := parseChanged(m.Payload)
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(rev, 10, 64)
			if err != nil {
				continue
			}
			r.pending.add(what, n, false)
		}
	}
}

// load installs what the events asked for and resyncs everything every
// WithResync period. It is the only writer of the tables after NewRouter.
func (r *Router) load(ctx context.Context) {
	defer r.wg.Done()
	tick := time.NewTicker(r.cfg.router.resync)
	defer tick.Stop()
	exp := newExpiryLoop()
	defer exp.timer.Stop()
	for {
		exp.arm(r)
		select {
		case <-ctx.Done():
			return
		case <-exp.timer.C:
			exp.fire(ctx, r)
		case <-r.cfg.router.hooks.expiryWake:
			exp.fire(ctx, r)
		case <-tick.C:
			r.syncAll(ctx)
		case <-r.pending.sig:
			revs, all := r.pending.take()
			if all {
				r.syncAll(ctx)
				continue
			}
			for what, rev := range revs {
				if err := r.reload(ctx, what, rev); err != nil && ctx.Err() == nil {
					r.outage(err)
				}
			}
		}
	}
}

// syncAll reloads everything; success ends an outage. A Registry's
// failure is not Redis's: Redis answered, so the resync counts.
func (r *Router) syncAll(ctx context.Context) {
	if err := r.resync(ctx); err != nil && !registryOnly(ctx, err) {
		if ctx.Err() == nil {
			r.outage(err)
		}
		return
	}
	r.tel.synced(r.cfg.clock())
	if r.tel.stale.CompareAndSwap(1, 0) {
		r.cfg.router.logger.Info("greyroute: redis reachable again; routing table resynced")
	}
	r.hook("resync", 0)
}

// outage marks the table stale, logging once per outage. A Registry's
// failure is not one: it has its own signal (registry_health.go).
func (r *Router) outage(err error) {
	if isRegistryErr(err) {
		return
	}
	if r.tel.stale.CompareAndSwap(0, 1) {
		r.cfg.router.logger.Warn("greyroute: cannot read the routing table from redis; serving the last one", "err", err)
		r.hook("stale", 0)
	}
}

func (r *Router) hook(what string, rev int64) {
	if h := r.cfg.router.hooks.loaded; h != nil {
		h(what, rev)
	}
}

// reload installs what changed ("{tenants}" or a service) when rev is
// newer than the Router holds.
func (r *Router) reload(ctx context.Context, what string, rev int64) error {
	if what == tenantsTag {
		if rev <= r.schemas.Load().rev {
			return nil
		}
		return r.loadSchemas(ctx)
	}
	if validName("service", what) != nil {
		return nil // not an Admin's event
	}
	if slot := (*r.services.Load())[what]; slot != nil && rev <= slot.t.Load().rev {
		return nil
	}
	return r.loadService(ctx, what)
}

// resync reloads every service in the services set and the schemas. A
// service that fails on its own (serviceOnly) does not keep the others
// from reloading; its error is returned at the end.
func (r *Router) resync(ctx context.Context) error {
	names, err := r.client.SMembers(ctx, servicesKey(r.cfg.prefix)).Result()
	if err != nil {
		return err
	}
	var first error
	for _, s := range names {
		if validName("service", s) != nil {
			continue
		}
		if err := r.loadService(ctx, s); err != nil {
			if !serviceOnly(ctx, err) {
				return err
			}
			if first == nil || registryOnly(ctx, first) {
				first = err // a service's Redis error before any Registry's
			}
		}
	}
	if err := r.loadSchemas(ctx); err != nil {
		return err
	}
	return first
}

// serviceOnly reports whether err, from loading one service, concerns
// that service alone — its registry failed, or Redis refused to read its
// keys (one of the wrong type, written by something other than an Admin)
// — so that a round of loads goes on to the other services. Redis being
// away, or Close, ends the round: the other loads would fail the same.
func serviceOnly(ctx context.Context, err error) bool {
	return ctx.Err() == nil && (isRegistryErr(err) || !redisx.Retryable(err))
}

// loadService reads service's table and installs it. Loads run one at a
// time (NewRouter, then only the loader goroutine), so what is read last
// is the newest: it is installed even when its rev is lower than the one
// held, which is how a Router follows a Redis that lost its data. A
// service with no table yet (rev 0) is only installed when known, so
// stray events cannot grow the map.
func (r *Router) loadService(ctx context.Context, service string) error {
	now := r.cfg.clock()
	t, err := readTable(ctx, r.client, serviceKeys(r.cfg.prefix, service), service, now)
	if err != nil {
		return err
	}
	if t, err = r.fromRegistry(ctx, t); err != nil {
		// A *registryError: its own signal, not an outage
		// (registry_health.go), and serviceOnly.
		r.registryFailed(ctx, service, err)
		return err
	}
	if r.registryFor(service) != nil {
		r.registryAnswered(service)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	slots := *r.services.Load()
	slot := slots[service]
	if slot == nil {
		if t.Rev == 0 {
			return nil
		}
		slot = &svcSlot{}
		next := make(map[string]*svcSlot, len(slots)+1)
		for k, v := range slots {
			next[k] = v
		}
		next[service] = slot
		slot.t.Store(r.buildTable(t, now)) // before the slot is visible
		r.services.Store(&next)
	} else {
		slot.t.Store(r.buildTable(t, now))
	}
	r.installed(t, now) // Instances and Watch (router_watch.go)
	r.hook(service, t.Rev)
	return nil
}

// loadSchemas reads the tenants' schemas with their rev, in one
// transaction.
func (r *Router) loadSchemas(ctx context.Context) error {
	var rev *redis.StringCmd
	var all *redis.MapStringStringCmd
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		rev = p.HGet(ctx, tenantsMetaKey(r.cfg.prefix), "rev")
		all = p.HGetAll(ctx, tenantSchemaKey(r.cfg.prefix))
		return nil
	})
	if err != nil && err != redis.Nil {
		return err
	}
	st := &schemaTable{m: make(map[string]int, len(all.Val()))}
	st.rev, _ = strconv.ParseInt(rev.Val(), 10, 64)
	for t, s := range all.Val() {
		// What no Admin writes (SetSchema refuses a negative) is ignored,
		// as if absent: a Pick of a service with no requirement does not
		// even look the tenant's schema up.
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			st.m[t] = n
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.schemas.Store(st) // the newest read, as in loadService
	r.hook(tenantsTag, st.rev)
	return nil
}
