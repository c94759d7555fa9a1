package lock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"

	"github.com/groundwork-go/groundwork/internal/redisx"
)

// Errors, matched with errors.Is.
var (
	// ErrNotObtained: the lock is held by someone else (after any retries).
	ErrNotObtained = errors.New("lock: not obtained")
	// ErrNotHeld: the lock expired or is held by someone else.
	ErrNotHeld = errors.New("lock: not held")
	// ErrLost is the cause of a Lock.Context cancelled because the lock
	// expired or could not be kept.
	ErrLost = errors.New("lock: lost")
	// ErrInvalid: an argument is invalid; the message names it.
	ErrInvalid = errors.New("lock: invalid argument")
)

// Locker obtains locks on one Redis (standalone, Sentinel or Cluster) or,
// made with NewRedlock, on a quorum of independent masters.
type Locker struct {
	clients []redis.UniversalClient
	quorum  int
	cfg     config
	bad     error // from New's arguments, returned by Obtain
	tel     *telemetry
}

// New returns a Locker on client. A nil client or a bad option is
// reported by every call, as ErrInvalid naming it.
func New(client redis.UniversalClient, opts ...Option) *Locker {
	l := &Locker{clients: []redis.UniversalClient{client}, quorum: 1, cfg: defaults(opts)}
	switch {
	case client == nil:
		l.bad = fmt.Errorf("%w: New: nil client", ErrInvalid)
	case l.cfg.bad != nil:
		l.bad = l.cfg.bad
	}
	l.tel = newTelemetry(l, l.cfg.meter, "single")
	return l
}

// NewRedlock returns a Locker holding each lock on a majority (N/2+1) of
// clients, N independent masters (not replicas of one another).
func NewRedlock(clients []redis.UniversalClient, opts ...Option) (*Locker, error) {
	if len(clients) == 0 {
		return nil, fmt.Errorf("%w: NewRedlock: no clients", ErrInvalid)
	}
	for i, c := range clients {
		if c == nil {
			return nil, fmt.Errorf("%w: NewRedlock: client %d is nil", ErrInvalid, i)
		}
	}
	l := &Locker{clients: append([]redis.UniversalClient(nil), clients...), quorum: len(clients)/2 + 1, cfg: defaults(opts)}
	if l.cfg.bad != nil {
		return nil, l.cfg.bad
	}
	l.tel = newTelemetry(l, l.cfg.meter, "redlock")
	return l, nil
}

func defaults(opts []Option) config {
	c := config{retry: NoRetry(), prefix: "lock:", meter: otel.GetMeterProvider()}
	for _, o := range opts {
		if o != nil {
			o.applyLocker(&c)
		}
	}
	return c
}

// drift is the clock drift allowed for: 1% of ttl plus 2ms.
func drift(ttl time.Duration) time.Duration { return ttl/100 + 2*time.Millisecond }

// Obtain takes the lock key for ttl, retrying as the Locker's (or opts')
// RetryStrategy says; ErrNotObtained if it stays held by someone else,
// also when ctx ends while Obtain waits to retry.
func (l *Locker) Obtain(ctx context.Context, key string, ttl time.Duration, opts ...ObtainOption) (_ *Lock, err error) {
	cfg := l.cfg
	for _, o := range opts {
		if o != nil {
			o.applyObtain(&cfg)
		}
	}
	switch {
	case l.bad != nil:
		return nil, l.bad
	case l.tel == nil:
		return nil, fmt.Errorf("%w: a Locker must be made with New or NewRedlock", ErrInvalid)
	case key == "":
		return nil, fmt.Errorf("%w: empty key", ErrInvalid)
	case ttl <= 2*drift(ttl):
		return nil, fmt.Errorf("%w: ttl %v: must exceed twice the clock drift allowed for (1%% + 2ms)", ErrInvalid, ttl)
	case strings.Contains(cfg.metadata, "\x00"):
		return nil, fmt.Errorf("%w: metadata contains a NUL byte", ErrInvalid)
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	lk := &Lock{l: l, key: key, ttl: ttl, cfg: cfg,
		lockKey: cfg.prefix + redisx.HashTag(key),
		value:   hex.EncodeToString(id[:]) + "\x00" + cfg.metadata}
	lk.fenceKey = lk.lockKey + ":fence"

	start := time.Now()
	defer func(ctx context.Context) { l.tel.obtainDone(ctx, time.Since(start), err) }(ctx)
	var bo backoff.BackOff
	var held error // the last attempt's ErrNotObtained
	for {
		token, validity, err := l.obtainOnce(ctx, lk)
		if err == nil {
			lk.start(token, validity)
			return lk, nil
		}
		if held != nil && isContextErr(err) {
			// ctx ended during a retry: the lock was last seen held.
			return nil, held
		}
		if !errors.Is(err, ErrNotObtained) {
			return nil, err
		}
		held = err
		if bo == nil {
			// Held: retry as the strategy says, until ctx ends or, when
			// ctx has no deadline, for ttl.
			if _, ok := ctx.Deadline(); !ok {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, ttl)
				defer cancel()
			}
			bo = backoff.WithContext(cfg.retry.NewBackOff(), ctx)
		}
		wait := bo.NextBackOff()
		if wait == backoff.Stop {
			return nil, err
		}
		l.tel.retries.add()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, err
		}
	}
}

// Do runs fn holding key, with a watchdog keeping the lock for as long as
// fn runs. fn's context is cancelled when ctx ends or the lock is lost.
func (l *Locker) Do(ctx context.Context, key string, ttl time.Duration, fn func(ctx context.Context) error) (err error) {
	lk, err := l.Obtain(ctx, key, ttl, WithWatchdog())
	if err != nil {
		return err
	}
	fctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(lk.Context(), func() { cancel(context.Cause(lk.Context())) })
	// Deferred, so that a panicking fn (recovered further up, as an HTTP
	// server does) still stops the watchdog and releases the lock.
	defer func() {
		stop()
		cancel(nil)
		if rerr := lk.Release(context.WithoutCancel(ctx)); rerr != nil && err == nil {
			err = rerr
		}
	}()
	return fn(fctx)
}

// Holder returns the metadata stored by the holder of key (WithMetadata),
// or ErrNotHeld when it is free. On Redlock it asks the instances in turn
// and returns the first holder found.
func (l *Locker) Holder(ctx context.Context, key string) (string, error) {
	if l.bad != nil {
		return "", l.bad
	}
	var lastErr error
	for _, c := range l.clients {
		v, err := c.Get(ctx, l.cfg.prefix+redisx.HashTag(key)).Result()
		switch {
		case err == nil:
			_, meta, _ := strings.Cut(v, "\x00")
			return meta, nil
		case !errors.Is(err, redis.Nil):
			lastErr = err
		}
	}
	if lastErr != nil {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		return "", fmt.Errorf("lock: holder of %q: %w", key, lastErr)
	}
	return "", ErrNotHeld
}
