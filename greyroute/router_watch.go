package greyroute

import (
	"slices"
	"sync"
	"time"
)

// watchSet is what Instances and Watch read: each service's live
// instances as of its last load, and the channels told when a load
// installs a new table. It is kept apart from the tables Picks read, so
// that neither side's cost or locking touches the other.
type watchSet struct {
	mu    sync.Mutex
	insts map[string][]Instance                  // service → live instances, sorted by ID
	subs  map[string]map[*chan struct{}]struct{} // service → its watchers' channels
}

// Instances returns the live instances of every version of service as of
// the Router's last load of its table, sorted by ID — available or not
// (an open breaker or a low health score does not remove an instance from
// this list; it only keeps Pick away from it). An unknown service has
// none. The slice is the caller's; the Meta maps are shared and must not
// be modified. Instances does no I/O: it is what a resolver that
// mirrors the Router's instances (grpcroute) reads after Watch told it of
// a change.
func (r *Router) Instances(service string) []Instance {
	r.watch.mu.Lock()
	defer r.watch.mu.Unlock()
	return slices.Clone(r.watch.insts[service])
}

// Watch returns a channel that receives a value after the Router
// installs a new table of service (a change event, a resync — a table
// that did not change is announced too), and a stop function that ends
// the watch; call it once done. The channel has a buffer of one and is
// never closed: changes that come while the watcher is busy are merged
// into one value, and the Router never waits for a watcher. Read
// Instances after each value.
func (r *Router) Watch(service string) (changed <-chan struct{}, stop func()) {
	ch := make(chan struct{}, 1)
	r.watch.mu.Lock()
	if r.watch.subs == nil {
		r.watch.subs = map[string]map[*chan struct{}]struct{}{}
	}
	if r.watch.subs[service] == nil {
		r.watch.subs[service] = map[*chan struct{}]struct{}{}
	}
	r.watch.subs[service][&ch] = struct{}{}
	r.watch.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			r.watch.mu.Lock()
			defer r.watch.mu.Unlock()
			delete(r.watch.subs[service], &ch)
			if len(r.watch.subs[service]) == 0 {
				delete(r.watch.subs, service)
			}
		})
	}
}

// installed records the live instances of table t, just installed, and
// tells service's watchers. It is called by loadService with r.mu held,
// so the lists are recorded in the order the tables were installed; it
// never blocks on a watcher.
func (r *Router) installed(t Table, now time.Time) {
	live := make([]Instance, 0, len(t.Instances))
	for _, inst := range t.Instances { // sorted by ID
		if exp, ok := t.Expires[inst.ID]; ok && !exp.After(now) {
			continue // expired by the Router's clock, as buildTable drops it
		}
		live = append(live, inst)
	}
	r.watch.mu.Lock()
	defer r.watch.mu.Unlock()
	if r.watch.insts == nil {
		r.watch.insts = map[string][]Instance{}
	}
	r.watch.insts[t.Service] = live
	for ch := range r.watch.subs[t.Service] {
		select {
		case *ch <- struct{}{}:
		default: // a value is already waiting: the watcher reads the newest list anyway
		}
	}
}
