package cache

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
)

// Codec turns values into bytes for Redis. []byte values bypass it; a
// []byte a Cache returns may be shared with its L1 and other callers, so
// it must not be modified.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default Codec.
type JSON struct{}

// Marshal implements Codec.
func (JSON) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

// Unmarshal implements Codec.
func (JSON) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

type options struct {
	prefix      string
	localSize   int
	localTTL    time.Duration
	ttl         time.Duration
	jitter      float64
	negativeTTL time.Duration
	codec       Codec
	fallback    bool
	distLoad    bool
	logger      *slog.Logger
	beta        float64           // XFetch; 0: no refresh-ahead
	localKeys   func(string) bool // which keys L1 holds; nil: all
	hotTop      int
	hotWindow   time.Duration
	store       any // Store[V], checked by New
	behind      *behindOptions
	loadTimeout time.Duration
	pingEvery   time.Duration
	meter       metric.MeterProvider
}

// Option configures New. Each says what default it overrides.
type Option func(*options) error

// WithPrefix sets the prefix of every Redis key and of the invalidation
// channel, overriding the default "cache:". Caches that share a prefix
// share entries; prefixes of caches sharing a Redis must not nest ("app:"
// and "app:k:"), and New refuses one that nests with the prefix of an
// open cache on the same client.
func WithPrefix(p string) Option {
	return func(o *options) error {
		if p == "" {
			return fmt.Errorf("%w: WithPrefix: empty prefix", ErrInvalid)
		}
		o.prefix = p
		return nil
	}
}

// WithLocal sizes the in-process layer (L1), overriding the default of
// 10,000 entries kept at most 1 minute. size 0 turns L1 off. The L1 ttl
// bounds how stale an entry can be should an invalidation be lost.
func WithLocal(size int, ttl time.Duration) Option {
	return func(o *options) error {
		if size < 0 || (size > 0 && ttl <= 0) {
			return fmt.Errorf("%w: WithLocal(%d, %v): want size >= 0 and, with size > 0, ttl > 0", ErrInvalid, size, ttl)
		}
		o.localSize, o.localTTL = size, ttl
		return nil
	}
}

// WithTTL sets how long entries live in Redis, overriding the default of
// 1 hour.
func WithTTL(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithTTL(%v): want > 0", ErrInvalid, d)
		}
		o.ttl = d
		return nil
	}
}

// WithJitter spreads every TTL by ±f (0.1 = ±10%, the default) so that
// entries written together do not expire together.
func WithJitter(f float64) Option {
	return func(o *options) error {
		if f < 0 || f >= 1 {
			return fmt.Errorf("%w: WithJitter(%v): want 0 <= f < 1", ErrInvalid, f)
		}
		o.jitter = f
		return nil
	}
}

// WithNegativeTTL sets how long a loader's ErrNotFound is remembered,
// overriding the default of 10 seconds.
func WithNegativeTTL(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithNegativeTTL(%v): want > 0", ErrInvalid, d)
		}
		o.negativeTTL = d
		return nil
	}
}

// WithCodec sets how values are encoded for Redis, overriding JSON.
func WithCodec(c Codec) Option {
	return func(o *options) error {
		if c == nil {
			return fmt.Errorf("%w: WithCodec: nil codec", ErrInvalid)
		}
		o.codec = c
		return nil
	}
}

// WithFallbackToLoader makes GetOrLoad call the loader when Redis cannot
// be reached, overriding the default of returning the error. That holds
// at every step: the lookup, the distributed load lock and the wait for
// another process's load, the lease. A value loaded so is not cached.
func WithFallbackToLoader() Option {
	return func(o *options) error {
		o.fallback = true
		return nil
	}
}

// WithDistributedLoad makes concurrent misses of one key load once across
// every process sharing the Redis, overriding the default of once per
// process: the loading process holds a lock (package lock, with a
// watchdog) on "<prefix>l:{<key>}", the others poll Redis (with backoff,
// 5ms up to 200ms) until the value appears or the lock is freed (then
// try to take it). The wait ends with the load timeout, at Close, or when
// no caller waits any more; a Redis failure ends it too (see
// WithFallbackToLoader). It needs a Redis client.
func WithDistributedLoad() Option {
	return func(o *options) error {
		o.distLoad = true
		return nil
	}
}

// WithLoadTimeout bounds a load, overriding the default of 30 seconds:
// the loader's ctx (and, with WithDistributedLoad, the wait for another
// process's load) ends after d, and the callers waiting for it get an
// error wrapping context.DeadlineExceeded. A loader that ignores its ctx
// no longer holds up its key: the next miss starts a new load. A lease
// lives d plus a second, so what a load returns after that is not cached.
func WithLoadTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 10*time.Millisecond {
			return fmt.Errorf("%w: WithLoadTimeout(%v): want >= 10ms", ErrInvalid, d)
		}
		o.loadTimeout = d
		return nil
	}
}

// WithInvalidationPing sets how long the invalidation channel may stay
// silent before it is pinged, overriding the default of 1 second. If the
// ping is not answered within as long again, the connection is taken for
// dead (half-open, say): the local layers are paused — reads go to Redis
// — until a new subscription is confirmed, and are then emptied.
func WithInvalidationPing(d time.Duration) Option {
	return func(o *options) error {
		if d < 10*time.Millisecond {
			return fmt.Errorf("%w: WithInvalidationPing(%v): want >= 10ms", ErrInvalid, d)
		}
		o.pingEvery = d
		return nil
	}
}

// WithMeterProvider sets where metrics go, overriding the global
// provider (otel.GetMeterProvider()). See the package doc, # Metrics.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) error {
		if mp == nil {
			return fmt.Errorf("%w: WithMeterProvider: nil provider", ErrInvalid)
		}
		o.meter = mp
		return nil
	}
}

// WithLogger sets where background failures are logged, overriding
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: WithLogger: nil logger", ErrInvalid)
		}
		o.logger = l
		return nil
	}
}

// WithRefreshAhead makes GetOrLoad reload a key in the background before
// its entry expires, overriding the default of reloading only on a miss.
// A read at time t starts the reload when
//
//	t − Δ·β·ln(rand()) ≥ expiry
//
// with Δ how long the last load took (XFetch, Vattani et al.): the closer
// the expiry and the slower the load, the likelier, so that under steady
// load a key is reloaded once, shortly before it expires, and no caller
// waits for it. β = 1 is the usual choice; larger refreshes earlier.
func WithRefreshAhead(beta float64) Option {
	return func(o *options) error {
		if !(beta > 0 && beta <= 100) {
			return fmt.Errorf("%w: WithRefreshAhead(%v): want 0 < beta <= 100", ErrInvalid, beta)
		}
		o.beta = beta
		return nil
	}
}

// WithLocalKeys restricts L1 to the keys for which keep returns true,
// overriding the default of keeping every key. Hot keys (WithHotKeys) are
// kept locally whatever keep says.
func WithLocalKeys(keep func(key string) bool) Option {
	return func(o *options) error {
		if keep == nil {
			return fmt.Errorf("%w: WithLocalKeys: nil func", ErrInvalid)
		}
		o.localKeys = keep
		return nil
	}
}

// WithHotKeys turns on the hot-key detector, overriding the default of
// none: it counts reads per key over a sliding window (two halves of
// window, space-saving top-k) and keeps the top most-read keys, those read
// at least twice in the window, in a local layer of their own, even where
// L1 is off (WithLocal(0, ...)) or WithLocalKeys leaves them out. HotKeys
// reports them.
func WithHotKeys(top int, window time.Duration) Option {
	return func(o *options) error {
		if top <= 0 || top > 1<<16 || window < 10*time.Millisecond {
			return fmt.Errorf("%w: WithHotKeys(%d, %v): want 0 < top <= 65536 and window >= 10ms", ErrInvalid, top, window)
		}
		o.hotTop, o.hotWindow = top, window
		return nil
	}
}

// SetOption configures one Set.
type SetOption func(*setOptions)

type setOptions struct {
	ttl   time.Duration
	tags  []string
	token *Token
}

// SetTTL overrides the cache's TTL for this entry.
func SetTTL(d time.Duration) SetOption { return func(o *setOptions) { o.ttl = d } }

// SetTags tags the entry: InvalidateTags of any of them removes it.
func SetTags(tags ...string) SetOption {
	return func(o *setOptions) { o.tags = append(o.tags, tags...) }
}

// ReturnToken stores in *t the token of this write, for read-your-writes
// (see Token).
func ReturnToken(t *Token) SetOption { return func(o *setOptions) { o.token = t } }

// LoadOption configures one GetOrLoad.
type LoadOption func(*setOptions)

// LoadTTL overrides the cache's TTL for the loaded entry.
func LoadTTL(d time.Duration) LoadOption { return func(o *setOptions) { o.ttl = d } }

// LoadTags tags the loaded entry (see SetTags).
func LoadTags(tags ...string) LoadOption {
	return func(o *setOptions) { o.tags = append(o.tags, tags...) }
}

// check validates one write's options.
func (so *setOptions) check(key string) error {
	if so.ttl <= 0 {
		return fmt.Errorf("%w: %q: ttl %v", ErrInvalid, key, so.ttl)
	}
	for _, t := range so.tags {
		if t == "" {
			return fmt.Errorf("%w: %q: empty tag", ErrInvalid, key)
		}
	}
	return nil
}
