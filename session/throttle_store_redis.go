package session

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisStore keeps no throttle state of its own (so no field in
// stores.go): one hash per key, <prefix>f:<key>, expiring by itself.
var (
	//go:embed scripts/throttle_attempt.lua
	throttleAttemptLua    string
	throttleAttemptScript = redis.NewScript(throttleAttemptLua)
	//go:embed scripts/throttle_forgive.lua
	throttleForgiveLua    string
	throttleForgiveScript = redis.NewScript(throttleForgiveLua)
)

func (s *RedisStore) throttleKey(key string) string { return s.prefix + "f:" + key }

// ThrottleAttempt implements ThrottleStore in one script run.
func (s *RedisStore) ThrottleAttempt(ctx context.Context, key string, now time.Time, p ThrottlePolicy, challenged bool) (ThrottleState, error) {
	if s.closed.isClosed() {
		return ThrottleState{}, ErrClosed
	}
	ch := "0"
	if challenged {
		ch = "1"
	}
	// The attempt's ID travels with every send of the command, so a
	// resend by the client after a lost reply is recognised, not counted.
	var id [12]byte
	_, _ = rand.Read(id[:])
	v, err := throttleAttemptScript.Run(ctx, s.rdb, []string{s.throttleKey(key)},
		now.UnixMilli(), p.Limit, p.ChallengeAfter, ch,
		p.Window.Milliseconds(), p.Base.Milliseconds(), p.Max.Milliseconds(), hex.EncodeToString(id[:])).Int64Slice()
	if err != nil {
		return ThrottleState{}, throttleWrap("redis throttle attempt", err)
	}
	if len(v) != 4 {
		return ThrottleState{}, fmt.Errorf("session: redis throttle attempt: unexpected reply %v", v)
	}
	return throttleRec{n: int(v[1]), l: int(v[2]), lu: v[3]}.state(ThrottleStatus(v[0])), nil
}

// ThrottleReset implements ThrottleStore.
func (s *RedisStore) ThrottleReset(ctx context.Context, key string) error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	if err := s.rdb.Del(ctx, s.throttleKey(key)).Err(); err != nil {
		return throttleWrap("redis throttle reset", err)
	}
	return nil
}

// ThrottleForgive implements ThrottleStore in one script run.
func (s *RedisStore) ThrottleForgive(ctx context.Context, key string, at time.Time, p ThrottlePolicy, got ThrottleState) error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	var lu int64 // 0: the attempt did not lock the key
	if got.Status == ThrottleLast && !got.LockedUntil.IsZero() {
		lu = got.LockedUntil.UnixMilli()
	}
	err := throttleForgiveScript.Run(ctx, s.rdb, []string{s.throttleKey(key)},
		at.UnixMilli(), lu, p.Limit, p.Window.Milliseconds(), p.Max.Milliseconds()).Err()
	if err != nil {
		return throttleWrap("redis throttle forgive", err)
	}
	return nil
}
