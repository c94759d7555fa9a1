package greyroute

import (
	"context"
	"errors"
	"sync"
)

// A Registry's failure is not Redis's: the table in Redis was read, only
// one service's instances could not be had. It gets its own signals —
// the counter greyroute.registry.errors (one per failed Instances call)
// and a warning naming the service and the error, once per failure
// streak of that service (a registry that stays down is reloaded at every
// event and resync, and must not log at each) — and leaves the Redis
// outage signals alone: greyroute.table.stale stays 0, a full resync
// that only a registry failed still resets greyroute.table.age.

// registryStreaks holds the services whose registry's last call failed.
type registryStreaks struct {
	mu      sync.Mutex
	failing map[string]bool
}

// registryFailed reports a failed Instances call of service's registry.
func (r *Router) registryFailed(ctx context.Context, service string, err error) {
	if ctx.Err() != nil {
		return // Close cut the call short: not the registry's failure
	}
	r.tel.registryErrors.Add(1)
	s := &r.regStreaks
	s.mu.Lock()
	first := !s.failing[service]
	if first {
		if s.failing == nil {
			s.failing = map[string]bool{}
		}
		s.failing[service] = true
	}
	s.mu.Unlock()
	if first {
		r.cfg.router.logger.Warn("greyroute: registry failed; serving the service's last instances",
			"service", service, "err", err)
	}
	r.hook("registry", 0)
}

// registryAnswered ends service's failure streak, if any.
func (r *Router) registryAnswered(service string) {
	s := &r.regStreaks
	s.mu.Lock()
	was := s.failing[service]
	delete(s.failing, service)
	s.mu.Unlock()
	if was {
		r.cfg.router.logger.Info("greyroute: registry answers again", "service", service)
	}
}

// registryOnly reports whether err, from a load that ctx did not cut
// short, is a Registry's failure alone: Redis answered.
func registryOnly(ctx context.Context, err error) bool {
	return ctx.Err() == nil && isRegistryErr(err)
}

// isRegistryErr reports whether err is a Registry's failure.
func isRegistryErr(err error) bool {
	var re *registryError
	return errors.As(err, &re)
}
