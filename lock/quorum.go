package lock

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// each runs op on every client at once, each bounded by a per-instance
// timeout on Redlock, and returns the results in client order.
func (l *Locker) each(ctx context.Context, ttl time.Duration, op func(ctx context.Context, c redis.UniversalClient) (int64, error)) ([]int64, []error) {
	vals, errs := make([]int64, len(l.clients)), make([]error, len(l.clients))
	if len(l.clients) == 1 {
		vals[0], errs[0] = op(ctx, l.clients[0])
		return vals, errs
	}
	// One slow or dead instance must not eat the validity time.
	perInstance := max(ttl/20, 50*time.Millisecond)
	var wg sync.WaitGroup
	for i, c := range l.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ictx, cancel := context.WithTimeout(ctx, perInstance)
			defer cancel()
			vals[i], errs[i] = op(ictx, c)
		}()
	}
	wg.Wait()
	return vals, errs
}

// summary describes failures for an error message.
func summary(errs []error) string {
	var msgs []string
	for i, err := range errs {
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("instance %d: %v", i, err))
		}
	}
	if len(msgs) == 0 {
		return "held by another owner"
	}
	return fmt.Sprint(msgs)
}

// obtainOnce makes one attempt: on a single instance one round trip; on
// Redlock a quorum of obtains, then raising the fencing counter to the
// quorum's maximum on a majority, then the validity check.
func (l *Locker) obtainOnce(ctx context.Context, lk *Lock) (token uint64, validity time.Duration, err error) {
	start := time.Now()
	keys := []string{lk.lockKey, lk.fenceKey}
	vals, errs := l.each(ctx, lk.ttl, func(ctx context.Context, c redis.UniversalClient) (int64, error) {
		return obtainScript.Run(ctx, c, keys, lk.value, lk.ttl.Milliseconds()).Int64()
	})
	if len(l.clients) == 1 {
		switch {
		case errs[0] != nil:
			// The script may have run and only its reply been lost: delete
			// the lock if it is ours, rather than leave it for its ttl.
			l.releaseAll(ctx, lk)
			if isContextErr(errs[0]) {
				return 0, 0, errs[0]
			}
			return 0, 0, fmt.Errorf("lock: obtain %q: %w", lk.key, errs[0])
		case vals[0] == 0:
			return 0, 0, fmt.Errorf("%w: %q is held", ErrNotObtained, lk.key)
		}
		return uint64(vals[0]), lk.ttl - time.Since(start) - drift(lk.ttl), nil
	}
	var m int64
	won := 0
	for i, v := range vals {
		if errs[i] == nil && v > 0 {
			won++
			m = max(m, v)
		}
	}
	if won < l.quorum {
		l.releaseAll(ctx, lk)
		if err := ctx.Err(); err != nil && answered(errs) < l.quorum {
			// Not "held": ctx ended before a quorum could say.
			return 0, 0, err
		}
		return 0, 0, fmt.Errorf("%w: %q on %d of %d instances, %d needed (%s)", ErrNotObtained, lk.key, won, len(l.clients), l.quorum, summary(errs))
	}
	// Counters drift apart (an attempt that failed still incremented a
	// minority), so the quorum's maximum is raised on a majority: any
	// later quorum meets that majority and counts past it.
	if testHookBeforeRaise != nil {
		testHookBeforeRaise()
	}
	raised, rerrs := l.each(ctx, lk.ttl, func(ctx context.Context, c redis.UniversalClient) (int64, error) {
		return raiseScript.Run(ctx, c, []string{lk.fenceKey}, m).Int64()
	})
	ok := 0
	for i, v := range raised {
		if rerrs[i] == nil && v >= m {
			ok++
		}
	}
	validity = lk.ttl - time.Since(start) - drift(lk.ttl)
	if ok < l.quorum || validity <= 0 {
		l.releaseAll(ctx, lk)
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		return 0, 0, fmt.Errorf("%w: %q: fencing counter raised on %d instances, validity left %v", ErrNotObtained, lk.key, ok, validity)
	}
	return uint64(m), validity, nil
}

// answered counts the instances that gave an answer.
func answered(errs []error) int {
	n := 0
	for _, err := range errs {
		if err == nil {
			n++
		}
	}
	return n
}

// unsure reports whether a compare-value script that matched on n
// instances, fewer than a quorum, failed on enough others that they could
// with those n make one: whether the lock is still held is then not
// known. On one instance: the script failed.
func (l *Locker) unsure(n int, errs []error) bool {
	return n < l.quorum && n+len(errs)-answered(errs) >= l.quorum
}

// testHookBeforeRaise, when set by a test, runs in a Redlock Obtain
// between winning a quorum and raising the fencing counters.
var testHookBeforeRaise func()

// releaseAll deletes lk's value wherever it is, best effort, after an
// attempt failed: even when ctx has ended (the lock would otherwise stay
// taken for its ttl), but for at most a second, since it expires anyway.
func (l *Locker) releaseAll(ctx context.Context, lk *Lock) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(lk.ttl, time.Second))
	defer cancel()
	l.count(ctx, lk, releaseScript)
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// count runs a compare-value script (refresh, release) with lk's value and
// extra arguments on every instance and returns on how many it matched.
func (l *Locker) count(ctx context.Context, lk *Lock, s *redis.Script, extra ...any) (int, []error) {
	args := append([]any{lk.value}, extra...)
	vals, errs := l.each(ctx, lk.ttl, func(ctx context.Context, c redis.UniversalClient) (int64, error) {
		return s.Run(ctx, c, []string{lk.lockKey}, args...).Int64()
	})
	n := 0
	for i, v := range vals {
		if errs[i] == nil && v > 0 {
			n++
		}
	}
	return n, errs
}

// pttl returns the lock's remaining time as the quorum sees it; ttl is
// lk's current ttl, read by the caller under lk.mu.
func (l *Locker) pttl(ctx context.Context, lk *Lock, ttl time.Duration) (time.Duration, error) {
	vals, errs := l.each(ctx, ttl, func(ctx context.Context, c redis.UniversalClient) (int64, error) {
		return pttlScript.Run(ctx, c, []string{lk.lockKey}, lk.value).Int64()
	})
	var held []int64
	for i, v := range vals {
		if errs[i] == nil && v >= 0 {
			held = append(held, v)
		}
	}
	if len(held) < l.quorum {
		if l.unsure(len(held), errs) {
			return 0, failed(ctx, "ttl of", lk.key, errs)
		}
		return 0, fmt.Errorf("%w: %q", ErrNotHeld, lk.key)
	}
	// The lock lasts while a quorum holds it: the quorum-th longest.
	slices.Sort(held)
	slices.Reverse(held)
	return time.Duration(held[l.quorum-1]) * time.Millisecond, nil
}
