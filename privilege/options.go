package privilege

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// Combining resolves a permit and a deny of the same priority.
type Combining int

const (
	// DenyOverrides lets a deny win a tie (the default).
	DenyOverrides Combining = iota
	// PermitOverrides lets a permit win a tie.
	PermitOverrides
)

// String returns "deny-overrides" or "permit-overrides".
func (c Combining) String() string {
	switch c {
	case DenyOverrides:
		return "deny-overrides"
	case PermitOverrides:
		return "permit-overrides"
	}
	return fmt.Sprintf("Combining(%d)", int(c))
}

// Option configures an Engine.
type Option func(*options) error

type options struct {
	combining Combining
	l1Size    int
	l1TTL     time.Duration
	meter     metric.MeterProvider
	logger    *slog.Logger
	now       func() time.Time
	afterFunc func(d time.Duration, f func()) timer // time.AfterFunc; tests move it with their clock

	maxStale time.Duration // the propagation bound: no decision on a version older than this

	rdb          redis.UniversalClient // L2 and invalidation across instances; nil: none
	redisPrefix  string
	l2TTL        time.Duration
	redisTimeout time.Duration // per Redis call on the check path

	failOpen     time.Duration // 0: fail closed
	failOpenSize int

	onSubscribed func()               // tests: each (re)subscription to the Redis channel
	onMessage    func(payload string) // tests: each message taken from the Redis channel

	audit       AuditSink
	auditSample float64        // fraction of allows audited
	auditRand   func() float64 // in [0, 1); samples allows
}

func defaultOptions() options {
	return options{
		combining: DenyOverrides,
		l1Size:    10_000,
		l1TTL:     time.Minute,
		meter:     otel.GetMeterProvider(),
		logger:    slog.Default(),
		now:       time.Now,
		afterFunc: func(d time.Duration, f func()) timer { return time.AfterFunc(d, f) },

		maxStale:     time.Second,
		redisPrefix:  "privilege:",
		l2TTL:        5 * time.Minute,
		redisTimeout: 50 * time.Millisecond,
		failOpenSize: 10_000,
		auditRand:    rand.Float64,
	}
}

// WithCombining overrides the default combining algorithm (DenyOverrides)
// used when policies of the same priority disagree.
func WithCombining(c Combining) Option {
	return func(o *options) error {
		if c != DenyOverrides && c != PermitOverrides {
			return fmt.Errorf("%w: combining algorithm %d", ErrInvalid, int(c))
		}
		o.combining = c
		return nil
	}
}

// WithL1 overrides the default local decision cache (10,000 decisions,
// its table renewed at the first fill a minute or more after it was
// made); size 0 turns it off, and a size needs a positive ttl. Entries
// are keyed by the store's Version as well, so a write makes them
// unreachable at once; ttl only bounds memory held by requests that are
// not repeated.
func WithL1(size int, ttl time.Duration) Option {
	return func(o *options) error {
		if size < 0 || ttl < 0 || (size > 0 && ttl == 0) {
			return fmt.Errorf("%w: L1 size %d, ttl %v", ErrInvalid, size, ttl)
		}
		o.l1Size, o.l1TTL = size, ttl
		return nil
	}
}

// WithMeterProvider overrides the default meter provider (the global one).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) error {
		if mp == nil {
			return fmt.Errorf("%w: nil meter provider", ErrInvalid)
		}
		o.meter = mp
		return nil
	}
}

// WithLogger overrides the default logger (slog.Default()) for the
// engine's own messages: lost watches, fail-open answers. It is quiet on
// the happy path.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrInvalid)
		}
		o.logger = l
		return nil
	}
}

// WithMaxStaleness overrides the default propagation bound (1s): when the
// engine tracks the store's version (a Watcher store: PostgresStore), no
// decision is made on a version confirmed longer ago than d; past it, the
// next Check reads the store's Version again before deciding. It is the
// longest a revoke can take to reach every instance, even when every
// notification is lost.
func WithMaxStaleness(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: max staleness %v, want > 0", ErrInvalid, d)
		}
		o.maxStale = d
		return nil
	}
}

// WithRedis adds the shared decision cache (L2) in rdb and invalidation
// across instances over its pub/sub, overriding the default of neither.
// Standalone, Sentinel and Cluster clients all work (no multi-key
// operation is used). Every engine on one store must use the same Redis
// and prefix; engines on other stores may share them when the stores are
// Identified (both of this package's are: the id is in the keys). Make the
// client with ContextTimeoutEnabled: true (see WithRedisTimeout).
func WithRedis(rdb redis.UniversalClient) Option {
	return func(o *options) error {
		if rdb == nil {
			return fmt.Errorf("%w: nil redis client", ErrInvalid)
		}
		o.rdb = rdb
		return nil
	}
}

// WithRedisPrefix overrides the default prefix ("privilege:") of the
// Redis keys and channel, which also hold the store's id (Identified).
func WithRedisPrefix(p string) Option {
	return func(o *options) error {
		if p == "" || strings.ContainsAny(p, " \r\n") {
			return fmt.Errorf("%w: redis prefix %q", ErrInvalid, p)
		}
		o.redisPrefix = p
		return nil
	}
}

// WithL2TTL overrides the default lifetime of an L2 entry (5 minutes);
// an entry that relied on an expiring grant lives no longer than it.
func WithL2TTL(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: L2 TTL %v, want > 0", ErrInvalid, d)
		}
		o.l2TTL = d
		return nil
	}
}

// WithRedisTimeout overrides the default bound (50ms) of each Redis call
// a Check makes, so that a slow or paused Redis delays a check by at most
// that much before it is decided from the store. go-redis honours it only
// on a client made with ContextTimeoutEnabled: true; on another, its
// ReadTimeout (3s by default) is the bound.
func WithRedisTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: redis timeout %v, want > 0", ErrInvalid, d)
		}
		o.redisTimeout = d
		return nil
	}
}

// WithFailOpen overrides the default of failing closed: when the store
// cannot be reached, a Check is answered with the last decision this engine
// made for the same subject, resource and action, if it was made within
// window before now, no condition took part in it and no grant it relied
// on has expired since; otherwise it is still denied. Such answers say so
// in their Reason, are counted (privilege.failopen) and logged (one
// warning per outage).
//
// "Cannot be reached" is an outage only: a network error (connection
// refused or reset, an I/O timeout), a connection lost mid-reply (EOF), a
// timeout inside the store (not the caller's own deadline or
// cancellation), pgx's errors for a request never sent
// (pgconn.SafeToRetry: a failed connect, a connection the outage closed),
// PostgreSQL's class 08 and codes 57P01-57P03 and 53300, or an error
// wrapping ErrUnavailable. Errors that say the data or the caller is
// wrong — a stored policy that no longer compiles, a store or pool the
// application closed (ErrClosed), ErrInvalid — and any error not
// recognised stay fail-closed denies: serving old decisions would hide
// the fault for the whole window.
func WithFailOpen(window time.Duration) Option {
	return func(o *options) error {
		if window <= 0 {
			return fmt.Errorf("%w: fail-open window %v, want > 0", ErrInvalid, window)
		}
		o.failOpen = window
		return nil
	}
}

// timer is the part of *time.Timer the engine uses.
type timer interface {
	Reset(d time.Duration) bool
	Stop() bool
}

// withTimers overrides time.AfterFunc; tests fire timers with their clock.
func withTimers(f func(d time.Duration, fn func()) timer) Option {
	return func(o *options) error {
		o.afterFunc = f
		return nil
	}
}

// withClock overrides time.Now; tests move time without sleeping.
func withClock(now func() time.Time) Option {
	return func(o *options) error {
		o.now = now
		return nil
	}
}
