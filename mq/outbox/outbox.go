package outbox

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/resilience"
)

// Errors returned by this package, matched with errors.Is.
var (
	// ErrClosed: the Outbox was closed.
	ErrClosed = errors.New("outbox: closed")
	// ErrInvalid: an argument or option is missing or malformed; the
	// message names it.
	ErrInvalid = errors.New("outbox: invalid argument")
)

// Outbox stores messages in PostgreSQL inside the caller's transactions
// (Enqueue) and publishes them to an mq.Client (Run). It is safe for
// concurrent use.
type Outbox struct {
	pool      *pgxpool.Pool
	bus       *mq.Client
	opts      options
	table     string // quoted identifiers, built from the validated name
	parts     string
	lockClass int32 // advisory lock class of this table's key locks
	tel       *telemetry
	hooks     hooks

	closed atomic.Bool
	done   chan struct{} // closed by Close: running relays stop
	mu     sync.Mutex    // guards runs against Close
	runs   sync.WaitGroup
}

// Option configures New.
type Option func(*options) error

type options struct {
	table      string
	partitions int
	batch      int
	retention  time.Duration
	poll       time.Duration
	retry      resilience.RetryPolicy
	logger     *slog.Logger
	meter      metric.MeterProvider
}

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,47}$`)

// derived are the suffixes of the names made from the table's: its
// partitions table and its two indexes.
var derived = []string{"_partitions", "_pending", "_sent"}

// WithTable names the outbox table, overriding the default
// "groundwork_outbox"; its partitions table is the name plus
// "_partitions", its indexes the name plus "_pending" and "_sent", and
// its notification channel is the name. Lower-case letters, digits and
// underscores, at most 48, not ending in one of those suffixes: another
// outbox's table must not be this one's partitions table or index.
func WithTable(name string) Option {
	return func(o *options) error {
		if !identifier.MatchString(name) {
			return fmt.Errorf("%w: WithTable(%q): want lower-case letters, digits and underscores, at most 48, not starting with a digit", ErrInvalid, name)
		}
		for _, s := range derived {
			if strings.HasSuffix(name, s) {
				return fmt.Errorf("%w: WithTable(%q): a name ending in %q is that of another outbox's partitions table or index", ErrInvalid, name, s)
			}
		}
		o.table = name
		return nil
	}
}

// WithPartitions sets how many partitions the keys are spread over,
// overriding the default 64. Each partition is relayed by one relay at a
// time, so it bounds how many relays can work at once. Every Outbox on a
// table must use the same number: New refuses a table made with another.
func WithPartitions(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 1<<16 {
			return fmt.Errorf("%w: WithPartitions(%d): want 1 to 65536", ErrInvalid, n)
		}
		o.partitions = n
		return nil
	}
}

// WithBatch sets how many rows of a partition the relay publishes at once,
// overriding the default 100.
func WithBatch(n int) Option {
	return func(o *options) error {
		if n < 1 || n > 10000 {
			return fmt.Errorf("%w: WithBatch(%d): want 1 to 10000", ErrInvalid, n)
		}
		o.batch = n
		return nil
	}
}

// WithRetention sets how long sent rows are kept before the relay deletes
// them, overriding the default 24h. Failed rows are never deleted.
func WithRetention(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("%w: WithRetention(%v): negative", ErrInvalid, d)
		}
		o.retention = d
		return nil
	}
}

// WithPollInterval sets how often an idle relay looks for rows without a
// notification, overriding the default 1s. Notifications wake it at once;
// polling covers a lost listening connection.
func WithPollInterval(d time.Duration) Option {
	return func(o *options) error {
		if d < time.Millisecond {
			return fmt.Errorf("%w: WithPollInterval(%v): want 1ms or more", ErrInvalid, d)
		}
		o.poll = d
		return nil
	}
}

// WithRetry sets the waits between a relay's attempts after a retryable
// failure (the bus or PostgreSQL unreachable), overriding the default
// (50ms doubling to 5s with jitter). The relay retries until its context
// ends: MaxAttempts and MaxElapsedTime are ignored. Each attempt's
// publish goes through the bus's own retry policy first.
func WithRetry(p resilience.RetryPolicy) Option {
	return func(o *options) error {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("%w: WithRetry: %v", ErrInvalid, err)
		}
		o.retry = p
		return nil
	}
}

// WithLogger sets the logger for relay failures, overriding the default
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return fmt.Errorf("%w: WithLogger(nil)", ErrInvalid)
		}
		o.logger = l
		return nil
	}
}

// WithMeterProvider sets where metrics go, overriding the default
// otel.GetMeterProvider().
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) error {
		if mp == nil {
			return fmt.Errorf("%w: WithMeterProvider(nil)", ErrInvalid)
		}
		o.meter = mp
		return nil
	}
}

func newOptions(opts []Option) (options, error) {
	o := options{
		table:      "groundwork_outbox",
		partitions: 64,
		batch:      100,
		retention:  24 * time.Hour,
		poll:       time.Second,
		logger:     slog.Default(),
		meter:      otel.GetMeterProvider(),
	}
	for _, opt := range opts {
		if opt == nil {
			return o, fmt.Errorf("%w: nil Option", ErrInvalid)
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// Close stops the running relays (their Run returns ErrClosed), waits for
// them, and unregisters the metrics. It closes neither the pool nor the
// bus. Later calls do nothing; afterwards every method returns ErrClosed.
func (o *Outbox) Close() error {
	o.mu.Lock()
	if o.closed.Swap(true) {
		o.mu.Unlock()
		return nil
	}
	close(o.done)
	o.mu.Unlock()
	o.runs.Wait()
	o.tel.close()
	return nil
}
