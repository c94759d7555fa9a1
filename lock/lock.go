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
	cfg, err := defaults(opts)
	l := &Locker{clients: []redis.UniversalClient{client}, quorum: 1, cfg: cfg}
	switch {
	case client == nil:
		l.bad = fmt.Errorf("%w: New: nil client", ErrInvalid)
	case err != nil:
		l.bad = err
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
	cfg, err := defaults(opts)
	if err != nil {
		return nil, err
	}
	l := &Locker{clients: append([]redis.UniversalClient(nil), clients...), quorum: len(clients)/2 + 1, cfg: cfg}
	l.tel = newTelemetry(l, l.cfg.meter, "redlock")
	return l, nil
}

// defaults is a Locker's configuration: the package defaults overridden
// by opts. On a bad option it returns the defaults (a Locker that reports
// the error still needs a meter) and the error.
func defaults(opts []Option) (config, error) {
	c := config{retry: NoRetry(), prefix: "lock:", meter: otel.GetMeterProvider()}
	try := c
	if err := try.apply(opts); err != nil {
		return c, err
	}
	return try, nil
}

// check is the error of every call on a Locker that cannot be used: nil
// or zero (not made by New or NewRedlock), or made with bad arguments.
func (l *Locker) check() error {
	switch {
	case l == nil || l.tel == nil:
		return fmt.Errorf("%w: a Locker must be made with New or NewRedlock", ErrInvalid)
	case l.bad != nil:
		return l.bad
	}
	return nil
}

// drift is the clock drift allowed for: 1% of ttl plus 2ms.
func drift(ttl time.Duration) time.Duration { return ttl/100 + 2*time.Millisecond }

// Obtain takes the lock key for ttl, retrying as the Locker's (or opts')
// RetryStrategy says; ErrNotObtained if it stays held by someone else,
// also when ctx ends while Obtain waits to retry. opts override the
// Locker's options for this lock.
//
// ctx bounds the obtaining only, as net.Dialer.DialContext's ctx bounds
// only the dial: once Obtain has returned, ending ctx neither releases
// the lock nor cancels Lock.Context. Work that must stop when either ctx
// ends or the lock is lost runs under Lock.Join(ctx), or inside Do.
func (l *Locker) Obtain(ctx context.Context, key string, ttl time.Duration, opts ...Option) (_ *Lock, err error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	cfg := l.cfg
	cfg.perCall = true
	switch optErr := cfg.apply(opts); {
	case optErr != nil:
		return nil, optErr
	case key == "":
		return nil, fmt.Errorf("%w: empty key", ErrInvalid)
	case ttl <= 2*drift(ttl):
		return nil, fmt.Errorf("%w: ttl %v: must exceed twice the clock drift allowed for (1%% + 2ms)", ErrInvalid, ttl)
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
			b := cfg.retry.NewBackOff()
			if b == nil {
				return nil, fmt.Errorf("%w: WithRetry: the RetryStrategy's NewBackOff returned nil", ErrInvalid)
			}
			bo = backoff.WithContext(b, ctx)
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

// Do runs fn holding key: it obtains the lock as Obtain does, with opts
// and always a watchdog, runs fn, and releases the lock when fn returns
// (or panics). fn gets the Lock, for its fencing token, and a context
// derived from ctx that is also cancelled when the lock is lost, with
// the cause wrapping ErrLost (see Lock.Join).
//
// Do returns Obtain's error, or else fn's. If fn returned nil but the
// lock was lost while it ran, Do returns an error wrapping ErrNotHeld;
// other Release errors are returned likewise. fn may Release lk itself,
// and Do then does not release it again.
func (l *Locker) Do(ctx context.Context, key string, ttl time.Duration, fn func(ctx context.Context, lk *Lock) error, opts ...Option) (err error) {
	if fn == nil {
		return fmt.Errorf("%w: Do: nil fn", ErrInvalid)
	}
	lk, err := l.Obtain(ctx, key, ttl, append(opts[:len(opts):len(opts)], WithWatchdog())...)
	if err != nil {
		return err
	}
	fctx, stop := lk.Join(ctx)
	// Deferred, so that a panicking fn (recovered further up, as an HTTP
	// server does) still stops the watchdog and releases the lock.
	defer func() {
		stop()
		// Asked before Do's own Release, which would make it true: only a
		// Release by fn makes Do's finding the lock not held no loss.
		releasedByFn := lk.released()
		rerr := lk.Release(context.WithoutCancel(ctx))
		if rerr != nil && err == nil && !(releasedByFn && errors.Is(rerr, ErrNotHeld)) {
			err = rerr
		}
	}()
	return fn(fctx, lk)
}

// Holder returns the metadata stored by the holder of key (WithMetadata),
// or ErrNotHeld when it is free. On Redlock it asks the instances in turn
// and returns the first holder found.
func (l *Locker) Holder(ctx context.Context, key string) (string, error) {
	if err := l.check(); err != nil {
		return "", err
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
