package greyroute

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// Registry is where a Router finds a service's instances: service
// discovery. Routing state — stable versions, rollouts, pins, schemas,
// health — always comes from the table in Redis; a Registry only answers
// which instances of which version exist, so an adapter over Nacos,
// Consul or Kubernetes endpoints is a few dozen lines (see the package's
// registry example).
//
// The built-in registry is Redis itself: the instances the Admin
// registers, with heartbeats and expiries, read by the Router in the same
// transaction as the rest of the table. *Admin implements Registry over
// them too (Admin.Instances). WithRegistry replaces it for a service.
type Registry interface {
	// Instances returns service's instances now. Each needs an ID (unique
	// within the service), a Version and an Addr, names as the Admin's
	// (see the package doc); Service is set by the Router. Entries
	// without them are left out. An error keeps the Router's last table
	// for the service; the other services still load. It is counted
	// (greyroute.registry.errors) and logged once per failure streak,
	// not reported as Redis being unreachable. A panic is recovered and counts as such an error. The
	// Router loads one service at a time: ctx has a deadline (10s) so a
	// registry that hangs does not hold up every other service.
	Instances(ctx context.Context, service string) ([]Instance, error)
}

// RegistryWatcher is a Registry that announces changes. A Router calls
// Watch once per WithRegistry that gives it, in its own goroutine, from
// NewRouter (before its first load, so a Watch that subscribes at once
// misses nothing) until Close; Watch calls changed(service) after a service's
// instances changed (a Router then reloads that service) and returns when
// ctx is done (a panic in Watch is recovered and logged, and its changes
// are then seen at each resync). A Registry without it is read at every
// load of the service: its Redis events and each WithResync period.
type RegistryWatcher interface {
	Registry
	Watch(ctx context.Context, changed func(service string)) error
}

// WithRegistry makes the Router take service's instances from reg,
// overriding the default, the instances the Admin registered in Redis;
// service "" makes reg the registry of every service without one of its
// own. The
// routing state stays in Redis: a service needs its table there (a
// stable version at least) to be routed. A nil reg or a bad service name
// is an error. Router only.
func WithRegistry(service string, reg Registry) Option {
	return routerOption("WithRegistry", func(c *routerConfig) error {
		if service != "" {
			if err := validName("service", service); err != nil {
				return fmt.Errorf("WithRegistry: %w", err)
			}
		}
		if reg == nil {
			return fmt.Errorf("%w: WithRegistry(%q): nil Registry", ErrInvalid, service)
		}
		if c.registries == nil {
			c.registries = map[string]Registry{}
		}
		c.registries[service] = reg
		return nil
	})
}

// registryTimeout bounds each Registry.Instances call: the Router has
// one loader, and a registry that does not answer would stall every
// service's updates, and NewRouter, behind it.
var registryTimeout = 10 * time.Second

// registryFor is service's registry, nil for Redis's.
func (r *Router) registryFor(service string) Registry {
	if reg, ok := r.cfg.router.registries[service]; ok {
		return reg
	}
	return r.cfg.router.registries[""]
}

// fromRegistry replaces t's instances by its service's registry's, when
// it has one. Entries the Admin would refuse are listed in t.Corrupt.
func (r *Router) fromRegistry(ctx context.Context, t Table) (Table, error) {
	reg := r.registryFor(t.Service)
	if reg == nil {
		return t, nil
	}
	insts, err := registryInstances(ctx, reg, t.Service)
	if err != nil {
		return t, &registryError{fmt.Errorf("registry of service %q: %w", t.Service, err)}
	}
	t.Instances, t.Expires, t.Corrupt = nil, map[string]time.Time{}, nil
	seen := map[string]bool{}
	for _, in := range insts {
		if validNames("ID", in.ID, "Version", in.Version) != nil || in.Addr == "" || seen[in.ID] {
			t.Corrupt = append(t.Corrupt, in.ID)
			continue
		}
		seen[in.ID] = true
		in.Service = t.Service
		in.Weight = min(max(in.Weight, 0), MaxWeight)
		in.picked, in.tk, in.router = nil, ticket{}, nil
		t.Instances = append(t.Instances, in)
	}
	slices.SortFunc(t.Instances, func(x, y Instance) int { return cmp.Compare(x.ID, y.ID) })
	for id := range t.Health {
		if !seen[id] {
			delete(t.Health, id)
		}
	}
	return t, nil
}

// registryInstances is reg.Instances bounded by registryTimeout, with its
// panic turned into an error: an adapter's bug must not end the process
// from the loader.
func registryInstances(ctx context.Context, reg Registry, service string) (insts []Instance, err error) {
	defer func() {
		if p := recover(); p != nil {
			insts, err = nil, fmt.Errorf("Instances panicked: %v", p)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, registryTimeout)
	defer cancel()
	return reg.Instances(ctx, service)
}

// registryError is a Registry's failure: it keeps that service's last
// table, and a full resync goes on to the other services (resync).
type registryError struct{ err error }

func (e *registryError) Error() string { return e.err.Error() }
func (e *registryError) Unwrap() error { return e.err }

// watchRegistries starts a goroutine per WithRegistry whose registry
// announces changes. A change asks the loader to reload the service
// whatever rev it holds.
func (r *Router) watchRegistries(ctx context.Context) {
	for _, reg := range r.cfg.router.registries {
		w, ok := reg.(RegistryWatcher)
		if !ok {
			continue
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer func() {
				if p := recover(); p != nil { // an adapter's bug: its changes are seen at each resync
					r.cfg.router.logger.Error("greyroute: registry watch panicked; its changes are seen at each resync", "panic", p)
				}
			}()
			err := w.Watch(ctx, func(service string) {
				if validName("service", service) == nil {
					r.pending.add(service, math.MaxInt64, false)
				}
			})
			if ctx.Err() == nil { // ended before Close, error or not: the live updates are gone
				r.cfg.router.logger.Warn("greyroute: registry watch ended; its changes are seen at each resync", "err", err)
			}
		}()
	}
}

// Instances returns service's live instances as the Admin registered
// them, sorted by ID: the built-in Registry.
func (a *Admin) Instances(ctx context.Context, service string) ([]Instance, error) {
	t, err := a.Snapshot(ctx, service)
	return t.Instances, err
}

var (
	_ Registry = (*Admin)(nil)
)
