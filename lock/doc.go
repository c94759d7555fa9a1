// Package lock provides distributed locks on Redis: a single-instance lock
// (standalone, Sentinel or Cluster) and Redlock over N independent
// masters, both with fencing tokens and an optional watchdog.
//
// For a critical section, Do obtains the lock, runs fn and releases it;
// fn gets the Lock, whose fencing token the guarded resource checks:
//
//	locker := lock.New(rdb)
//	err := locker.Do(ctx, "invoice:42", 10*time.Second, func(ctx context.Context, lk *lock.Lock) error {
//		return store.Save(ctx, invoice, lk.Token()) // the store rejects stale tokens
//	})
//	if errors.Is(err, lock.ErrNotObtained) { ... } // someone else holds it
//
// To hold a lock across calls, Obtain and Release it:
//
//	lk, err := locker.Obtain(ctx, "invoice:42", 10*time.Second, lock.WithWatchdog())
//	if err != nil { ... }
//	defer lk.Release(ctx)
//	wctx, stop := lk.Join(ctx) // ends with ctx, or when the lock is lost
//	defer stop()
//	err = store.Save(wctx, invoice, lk.Token())
//
// # Contexts
//
// The ctx given to Obtain bounds the obtaining only, as the ctx of
// net.Dialer.DialContext bounds only the dial: once Obtain has returned,
// ending that ctx neither releases the lock nor cancels Lock.Context.
// Lock.Context is the lock's own lifetime: it is cancelled by Release or
// when the lock is lost, and context.Cause says which (a loss wraps
// ErrLost); it carries none of the caller's values or deadline. Work that
// must stop when either the caller's ctx ends or the lock is lost runs
// under Lock.Join(ctx); Do runs fn under such a context.
//
// # Options
//
// One Option type configures a Locker (New, NewRedlock) and overrides
// its settings for one lock (Obtain, Do): WithRetry, WithWatchdog,
// WithMetadata. WithKeyPrefix and WithMeterProvider are Locker-wide:
// given to Obtain or Do they are an error naming them, not ignored. A bad
// value (a nil RetryStrategy or MeterProvider, metadata with a NUL byte,
// a nil Option) is an error naming the option, from Obtain or Do, from
// NewRedlock, and from every call on a Locker made by New.
//
// # Keys
//
// A lock named K lives in "lock:{K}" (the prefix is WithKeyPrefix's) and
// its fencing counter in "lock:{K}:fence"; both share the hash tag {K}, so
// one script touches both in a Cluster. The counter is never deleted: it
// is what makes tokens grow across holders.
//
// # Guarantees
//
// Mutual exclusion holds while the holder's Lock.Context is not cancelled: on
// a single instance, Obtain is one script (SET NX PX, then INCR of the
// fencing counter), one round trip; Refresh and Release are one
// compare-value script each, so a holder can never extend or release
// another's lock, and releasing a lock that expired is ErrNotHeld, not a
// silent success.
//
// Obtain is safe to retry: each Obtain has its own random value, and a
// script that finds the lock already holding it (go-redis running the
// command again after a reply was lost) hands the lock over, incrementing
// the counter again (tokens may skip numbers; they never repeat). An Obtain that fails after its script may
// have run (a timeout, ctx ending) deletes the lock if it holds its
// value, trying for up to a second even when ctx has ended, so a failed
// Obtain leaves nothing held.
//
// Without a watchdog, Lock.Context is cancelled at the lock's local expiry
// (obtain time + validity, moved by Refresh): from then on the holder
// cannot know it still holds the lock. With WithWatchdog the lock is
// refreshed every ttl/3; if a refresh cannot succeed before the local
// expiry, Context is cancelled first, with a cause wrapping ErrLost.
//
// Redlock (NewRedlock): the lock is taken on all N instances at once, each
// call bounded by max(ttl/20, 50ms) (through its context: give the clients
// ContextTimeoutEnabled, or go-redis waits a hung instance's ReadTimeout
// instead), and held only if a quorum of N/2+1
// took it within the validity time, ttl − elapsed − drift (drift = 1% of
// ttl + 2ms); otherwise it is released everywhere and Obtain fails with
// ErrNotObtained. With at most N/2 instances down, locks still work.
// With more down, Refresh, Release and TTL cannot tell whether a lock is
// still held (the instances down may hold it): they return the
// instances' errors, not ErrNotHeld, and the lock is not ended; the
// watchdog keeps trying until the local expiry, and Release can be
// called again.
//
// Fencing tokens are strictly increasing per key over all holders. On one
// instance that is the counter incremented with the lock. On Redlock the
// per-instance counters drift apart (an attempt that failed still
// incremented the minority where it got the lock), so the maximum of one
// quorum's counters is not by itself monotonic. After winning a quorum,
// Obtain takes the maximum M of its counters and raises the counter to at
// least M on a majority (a second round trip) before it checks validity
// and succeeds. Any later quorum intersects that majority, and the
// instance in both increments a counter already at M or more, so the next
// token exceeds M. Obtain thus costs one round trip on a single instance
// and two on Redlock.
//
// What no lock on timeouts protects against: a holder that pauses (GC,
// swap, SIGSTOP) past its ttl and then acts, believing it still holds the
// lock. Its Context is cancelled by then, but an action already under way
// is not stopped by that. This is what the fencing token is for: the
// guarded resource must compare tokens. Redlock also assumes the masters'
// clocks advance at about the same rate.
//
// # Persistence
//
// Locks and fencing counters live in Redis's memory, and the guarantees
// above assume an instance keeps what it has answered. The argument does
// not cover an instance that restarts without its data:
//
//   - Restarted at once, it has forgotten the locks it held: on Redlock a
//     second holder can take a lock the first still holds, on one
//     instance anyone can.
//   - Kept down longer than the longest ttl (the usual advice for
//     Redlock), it cannot cause two holders, but its fencing counters are
//     gone. If the last token was raised on a bare majority including it,
//     a later quorum of the others and it hands out a lower token than
//     one already used; on one instance tokens start again at 1, and a
//     resource that compares them refuses every new holder.
//
// So fencing tokens need every master to run with appendonly yes and
// appendfsync always (everysec survives a crash of redis-server, not of
// the machine, losing up to about a second; RDB snapshots lose everything
// since the last one). Mutual exclusion alone needs that or a restart
// delayed past the longest ttl. A failover to a replica is such a restart
// (replication is asynchronous: the replica may lack the newest lock and
// counter), on Sentinel and Cluster alike. Counters have no expiry: a
// maxmemory-policy that evicts keys without one (allkeys-*) can drop
// them; use noeviction or a volatile-* policy.
//
// # Observability
//
// Metrics go to WithMeterProvider (default: the global provider), with
// attribute lock.mode (single or redlock):
//
//   - lock.obtain.duration (histogram, seconds, by outcome: ok,
//     not_obtained, error): Obtain's whole time, retries included.
//   - lock.obtain.retries (counter): waits on a held lock, i.e. contention.
//   - lock.lost (counter, by reason): locks whose Context was cancelled
//     before Release. refresh_failed (the watchdog could not reach a
//     quorum in time) and not_held (a refresh found the lock gone: it
//     expired or was taken) mean a holder may still be acting without the
//     lock; expired (no watchdog, the ttl ran out) means work outlasted
//     its ttl.
//
// Alert on lock.lost with reason refresh_failed or not_held: a holder
// may have acted without the lock, and only the resource's token check
// stopped it. A rising rate of expired, or of lock.obtain.retries, is
// worth a ticket: ttls too short for the work, or contention.
//
// The counters are atomics read at collection time; the histogram is one
// Record per Obtain (OpenTelemetry has no observable histogram). A
// Locker's callback is unregistered when the Locker is garbage
// collected.
//
// # Errors
//
// ErrNotObtained (held elsewhere, after retries; on Redlock also when too
// few instances answered, with their errors in the message), ErrNotHeld
// (Refresh, Release or TTL of a lock that expired or changed hands; Do
// when the lock was lost while fn ran and fn returned nil), ErrLost (the
// cause of a Lock.Context cancelled by a loss), ErrInvalid (empty key, ttl
// not above twice the drift, nil or no clients, a bad or misplaced
// Option, a nil fn for Do, a Locker not made by New or NewRedlock, a
// Lock not returned by Obtain: its Context has ended with that cause). Do
// returns fn's error as it is. Redis failures on a single instance come
// back wrapped as they are; context errors unwrapped (also from a Redlock
// Obtain or Do whose ctx ended before a quorum answered).
package lock
