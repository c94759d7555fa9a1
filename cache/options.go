package cache

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// Codec turns values into bytes for Redis. []byte values bypass it.
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
}

// Option configures New. Each says what default it overrides.
type Option func(*options) error

// WithPrefix sets the prefix of every Redis key and of the invalidation
// channel, overriding the default "cache:". Caches that share a prefix
// share entries.
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
// be reached, overriding the default of returning the error.
func WithFallbackToLoader() Option {
	return func(o *options) error {
		o.fallback = true
		return nil
	}
}

// WithDistributedLoad makes concurrent misses of one key load once across
// every process sharing the Redis, overriding the default of once per
// process: the loading process holds a lock (package lock, with a
// watchdog) on "<prefix>load:<key>", the others wait for the value to
// appear in Redis (or the lock to be freed, then try to take it), each
// caller bounded by its ctx. It needs a Redis client.
func WithDistributedLoad() Option {
	return func(o *options) error {
		o.distLoad = true
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

// SetOption configures one Set.
type SetOption func(*setOptions)

type setOptions struct{ ttl time.Duration }

// SetTTL overrides the cache's TTL for this entry.
func SetTTL(d time.Duration) SetOption { return func(o *setOptions) { o.ttl = d } }

// LoadOption configures one GetOrLoad.
type LoadOption func(*setOptions)

// LoadTTL overrides the cache's TTL for the loaded entry.
func LoadTTL(d time.Duration) LoadOption { return func(o *setOptions) { o.ttl = d } }
