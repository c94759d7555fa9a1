package greyroute

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The Atomic mode's Done side: Done queues the return of a connection in
// memory and one goroutine (flushLoop) tells Redis with done.lua, one
// script per service, renewing the Router's lease as it goes.

// done queues the return of one connection of service's instance id. It
// never blocks: the flusher tells Redis. After Close it does nothing (the
// lease's lapse takes the count back).
func (a *atomicState) done(r *Router, service, id string) {
	if r.closed.Load() {
		return
	}
	a.mu.Lock()
	m := a.pending[service]
	if m == nil {
		m = map[string]int64{}
		a.pending[service] = m
	}
	m[id]++
	if o := a.open[service]; o[id] > 1 {
		o[id]--
	} else {
		delete(o, id)
	}
	a.mu.Unlock()
	a.pendingN.Add(1)
	a.signal()
}

// flushLoop tells Redis of Dones as they come, makes a full flush (which
// renews the Router's lease) on each tick, and a last flush at Close. A
// failed flush keeps its Dones for the next, after a backoff.
func (r *Router) flushLoop(ctx context.Context) {
	defer r.wg.Done()
	a := r.atomic
	defer func() {
		if a.reg != nil {
			_ = a.reg.Unregister()
		}
	}()
	tick := time.NewTicker(atomicLease / 3)
	defer tick.Stop()
	backoff := minBackoff
	for {
		renew := false
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), atomicCloseFlush)
			defer cancel()
			if err := r.flush(fctx, false); err != nil {
				n := a.pendingN.Swap(0)
				a.lost.Add(n)
				r.cfg.router.logger.Warn("greyroute: close: Dones not told to redis; their connection counts lapse with the router's lease",
					"dones", n, "lease", atomicLease, "err", err)
			}
			return
		case <-tick.C:
			renew = true
		case <-a.tick:
			renew = true
		case <-a.sig:
		}
		if err := r.flush(ctx, renew); err != nil {
			if ctx.Err() != nil {
				continue // the Close branch flushes
			}
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
			backoff = min(2*backoff, maxBackoff)
			select { // try again even if no Done comes
			case a.sig <- struct{}{}:
			default:
			}
			continue
		}
		backoff = minBackoff
		r.hook("flushed", 0)
	}
}

// flushJob is one service's part of a flush.
type flushJob struct {
	dones map[string]int64 // the Dones it tells (instance ID → count)
	set   map[string]int64 // instance ID → calls in progress, the share to set
	full  bool             // also clear the shares of instances not in set
}

// flush tells Redis of the pending Dones: for each service, one script
// setting this Router's share of each instance they were on to the calls
// it has in progress there (a retry after a lost reply changes nothing
// more). A full flush — on each tick (renew), for every service picked
// since the last or with calls in progress, and after a Pick failed —
// also clears its shares of instances it has no call on: what a Pick
// whose reply was lost left. What fails stays pending.
func (r *Router) flush(ctx context.Context, renew bool) error {
	a := r.atomic
	a.mu.Lock()
	jobs := map[string]*flushJob{}
	job := func(s string) *flushJob {
		j := jobs[s]
		if j == nil {
			j = &flushJob{set: map[string]int64{}}
			jobs[s] = j
		}
		return j
	}
	for s, m := range a.pending {
		j := job(s)
		j.dones = m
		for id := range m {
			j.set[id] = a.open[s][id]
		}
	}
	a.pending = map[string]map[string]int64{}
	for s := range a.full {
		job(s).full = true
	}
	clear(a.full)
	if renew {
		for s := range a.touched {
			job(s).full = true
		}
		clear(a.touched)
		for s, m := range a.open {
			if len(m) > 0 {
				job(s).full = true
			}
		}
	}
	for s, j := range jobs {
		if j.full {
			for id, n := range a.open[s] {
				j.set[id] = n
			}
		}
	}
	a.mu.Unlock()
	var failed error
	for service, j := range jobs {
		var sum int64
		for _, n := range j.dones {
			sum += n
		}
		if failed == nil {
			err := r.runDone(ctx, service, j)
			if err == nil || !errors.Is(err, ErrUnavailable) && ctx.Err() == nil {
				a.pendingN.Add(-sum)
				if err != nil {
					// Not the network: the data in Redis refuses it (a
					// key of the wrong type). Retrying cannot help; the
					// lease's lapse takes the counts back.
					a.lost.Add(sum)
					r.cfg.router.logger.Warn("greyroute: Dones refused by redis; their connection counts lapse with the router's lease",
						"service", service, "dones", sum, "err", err)
				}
				continue
			}
			failed = err
		}
		a.mu.Lock() // give back what was not told
		m := a.pending[service]
		if m == nil {
			m = map[string]int64{}
			a.pending[service] = m
		}
		for id, n := range j.dones {
			m[id] += n
		}
		if j.full {
			a.full[service] = true
		}
		a.mu.Unlock()
	}
	return failed
}

// runDone runs done.lua for service's part of a flush.
func (r *Router) runDone(ctx context.Context, service string, j *flushJob) error {
	k := atomicKeys(r.cfg.prefix, service)
	full := ""
	if j.full {
		full = "full"
	}
	argv := []any{r.atomic.id, r.cfg.clock().UnixMilli() + atomicLease.Milliseconds(), full}
	for id, n := range j.set {
		argv = append(argv, id, n)
	}
	err := doneScript.Run(ctx, r.client, []string{k[9], k[11], k[10]}, argv...).Err()
	return wrapRedis(ctx, fmt.Sprintf("done of service %q", service), err)
}
