package greyroute

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/groundwork-go/groundwork/resilience"
)

// DefaultResync is how often a Router reloads its whole table when no
// WithResync is given.
const DefaultResync = 30 * time.Second

// routerConfig is what the Router's own options set.
type routerConfig struct {
	balancers map[string]Balancer // service → its balancer; others get P2CEWMA
	fallback  map[string]string   // service → fallback version, over the table's
	resync    time.Duration
	breaker   resilience.BreakerPolicy
	logger    *slog.Logger
	atomic    bool        // WithAtomic (router_atomic.go)
	id        string      // WithRouterID; NewRouter makes one when unset
	hooks     routerHooks // tests only (export_test.go)

	rollback   *RollbackPolicy     // WithAutoRollback (rollback.go); nil: off
	registries map[string]Registry // service ("" for all) → its registry; nil: Redis's (registry.go)
}

// routerHooks let tests wait on a Router's loads instead of sleeping.
type routerHooks struct {
	loaded    func(what string, rev int64) // after a table (or "{tenants}", or "resync") is installed
	reconnect func()                       // before the subscription is retried after an error

	expiryWake <-chan struct{} // a receive checks the held expiries, as their timer does
	reported   func()          // after a flush of breaker reports (router_report.go)
}

func defaultRouterConfig() routerConfig {
	return routerConfig{balancers: map[string]Balancer{}, fallback: map[string]string{},
		resync: DefaultResync, logger: slog.Default()}
}

// applyOptions applies opts over the defaults; fn names the caller in errors.
func applyOptions(fn string, opts []Option) (config, error) {
	cfg := defaultConfig()
	for i, o := range opts {
		if o == nil {
			return config{}, fmt.Errorf("%w: %s: option %d is nil", ErrInvalid, fn, i)
		}
		if err := o(&cfg); err != nil {
			return config{}, fmt.Errorf("greyroute: %s: %w", fn, err)
		}
	}
	return cfg, nil
}

// routerOption marks an option as the Router's own.
func routerOption(name string, f func(*routerConfig) error) Option {
	return func(c *config) error {
		if err := f(&c.router); err != nil {
			return err
		}
		c.routerOnly = append(c.routerOnly, name)
		return nil
	}
}

// WithBalancer sets the Balancer of service's instances (each version
// gets its own Picker built by it), overriding the default P2CEWMA:
// it needs no weights, steers away from slow and busy instances within a
// few calls, and costs two random reads per Pick; SmoothWeightedRoundRobin
// suits fleets whose instances declare unequal weights. A bad service
// name or a nil Balancer is an error. Router only.
func WithBalancer(service string, b Balancer) Option {
	return routerOption("WithBalancer", func(c *routerConfig) error {
		if err := validName("service", service); err != nil {
			return fmt.Errorf("WithBalancer: %w", err)
		}
		if b == nil {
			return fmt.Errorf("%w: WithBalancer(%q): nil Balancer", ErrInvalid, service)
		}
		c.balancers[service] = b
		return nil
	})
}

// WithFallbackVersion sets the version a Pick of service falls back to
// when the tenant's version has no available instance, overriding the
// table's fallback (Admin.SetFallback). Router only.
func WithFallbackVersion(service, version string) Option {
	return routerOption("WithFallbackVersion", func(c *routerConfig) error {
		if err := validNames("service", service, "version", version); err != nil {
			return fmt.Errorf("WithFallbackVersion: %w", err)
		}
		c.fallback[service] = version
		return nil
	})
}

// WithResync sets how often the Router reloads every service's table
// whatever the change events said, overriding DefaultResync (30s): the
// bound on how stale a table can be when a change event is lost
// (expiries, which have no event, are reloaded as they pass: see the
// package doc's Freshness). At least 100ms. Router only.
func WithResync(d time.Duration) Option {
	return routerOption("WithResync", func(c *routerConfig) error {
		if d < 100*time.Millisecond {
			return fmt.Errorf("%w: WithResync(%v): want at least 100ms", ErrInvalid, d)
		}
		c.resync = d
		return nil
	})
}

// WithBreaker sets the policy of every instance's circuit breaker,
// overriding the default (resilience.BreakerPolicy's zero value). An
// invalid policy is an error naming the field. Router only.
func WithBreaker(p resilience.BreakerPolicy) Option {
	return routerOption("WithBreaker", func(c *routerConfig) error {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("%w: WithBreaker: %w", ErrInvalid, err)
		}
		c.breaker = p
		return nil
	})
}

// WithLogger sets where the Router logs, overriding slog.Default(). It
// is quiet on the happy path: a line when Redis becomes unreachable and
// one when it is back, likewise for a service's Registry, one per
// automatic rollback, and warnings when breaker reports or Atomic-mode
// Dones cannot be written. A nil logger is an error. Router only.
func WithLogger(l *slog.Logger) Option {
	return routerOption("WithLogger", func(c *routerConfig) error {
		if l == nil {
			return fmt.Errorf("%w: WithLogger: nil logger", ErrInvalid)
		}
		c.logger = l
		return nil
	})
}
