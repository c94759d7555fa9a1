package privilege

import (
	"context"
	"time"
)

// Timer is the engine's timer, for test clocks.
type Timer = timer

// WithTimers makes the engine start its timers with f instead of
// time.AfterFunc, so that a test clock fires them.
func WithTimers(f func(d time.Duration, fn func()) Timer) Option { return withTimers(f) }

// WithOnSubscribed runs f on each (re)subscription to the Redis channel.
func WithOnSubscribed(f func()) Option {
	return func(o *options) error {
		o.onSubscribed = f
		return nil
	}
}

// KnownVersion is the version e decides at while fresh (0 when it reads
// the store on every check).
func KnownVersion(e *Engine) uint64 {
	if e.trk == nil {
		return 0
	}
	return e.trk.known.Load()
}

// SetPGWatchHook sets the hook Watch runs on "listening" and "lost".
func SetPGWatchHook(s *PostgresStore, fn func(ctx context.Context, event string)) { s.watchHook = fn }

// L2Key is the Redis key of a request at a version, for a store without
// an id.
func L2Key(prefix string, v uint64, subject, resource, action string) string {
	return (&l2{ns: prefix}).key(v, l1Key{subject, resource, action})
}

// EngineL2Key is the Redis key e uses for a request at a version.
func EngineL2Key(e *Engine, v uint64, subject, resource, action string) string {
	return e.l2.key(v, l1Key{subject, resource, action})
}

// VersionWaiters is how many checks of e wait for a read of the version.
func VersionWaiters(e *Engine) int32 { return e.trk.waiting.Load() }

// WithOnMessage runs f with the payload of each message taken from the
// Redis channel, after the engine has taken it.
func WithOnMessage(f func(payload string)) Option {
	return func(o *options) error {
		o.onMessage = f
		return nil
	}
}

// L2Channel is the Redis channel e announces and hears versions on.
func L2Channel(e *Engine) string { return e.l2.channel() }
