package session

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Every multi-step token update is one script; the revocation state
// shares the {r} hash tag so that one script may touch it all on a
// Cluster, and each script publishes what it changed in the same step.
var (
	//go:embed scripts/tokens_bump.lua
	tokensBumpLua    string
	tokensBumpScript = redis.NewScript(tokensBumpLua)
	//go:embed scripts/tokens_deny.lua
	tokensDenyLua    string
	tokensDenyScript = redis.NewScript(tokensDenyLua)
	//go:embed scripts/tokens_check.lua
	tokensCheckLua    string
	tokensCheckScript = redis.NewScript(tokensCheckLua)
	//go:embed scripts/tokens_snapshot.lua
	tokensSnapshotLua    string
	tokensSnapshotScript = redis.NewScript(tokensSnapshotLua)
	//go:embed scripts/tokens_spend.lua
	tokensSpendLua    string
	tokensSpendScript = redis.NewScript(tokensSpendLua)
)

func (s *RedisStore) tokVersionsKey() string { return s.prefix + "t:{r}:ver" }
func (s *RedisStore) tokBumpsKey() string    { return s.prefix + "t:{r}:bumps" }
func (s *RedisStore) tokDeniedKey() string   { return s.prefix + "t:{r}:denied" }
func (s *RedisStore) tokChannel() string     { return s.prefix + "t:revoked" }
func (s *RedisStore) tokFamilyKey(f string) string {
	return s.prefix + "t:f:" + f
}

// TokenVersion implements TokenStore.
func (s *RedisStore) TokenVersion(ctx context.Context, userID string) (int64, error) {
	if s.closed.isClosed() {
		return 0, ErrClosed
	}
	v, err := s.rdb.HGet(ctx, s.tokVersionsKey(), userID).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, redisErr("token version", err)
	}
	return v, nil
}

// BumpTokenVersion implements TokenStore.
func (s *RedisStore) BumpTokenVersion(ctx context.Context, userID string, until time.Time) (int64, error) {
	if s.closed.isClosed() {
		return 0, ErrClosed
	}
	v, err := tokensBumpScript.Run(ctx, s.rdb, []string{s.tokVersionsKey(), s.tokBumpsKey()},
		userID, ms(until), ms(time.Now()), s.tokChannel()).Int64()
	if err != nil {
		return 0, redisErr("bump token version", err)
	}
	return v, nil
}

// DenyToken implements TokenStore.
func (s *RedisStore) DenyToken(ctx context.Context, jti string, until time.Time) error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	err := tokensDenyScript.Run(ctx, s.rdb, []string{s.tokDeniedKey()},
		jti, ms(until), ms(time.Now()), s.tokChannel()).Err()
	if err != nil {
		return redisErr("deny token", err)
	}
	return nil
}

// CheckToken implements TokenStore.
func (s *RedisStore) CheckToken(ctx context.Context, userID, jti string) (int64, bool, error) {
	if s.closed.isClosed() {
		return 0, false, ErrClosed
	}
	res, err := tokensCheckScript.Run(ctx, s.rdb, []string{s.tokVersionsKey(), s.tokDeniedKey()},
		userID, jti, ms(time.Now())).Slice()
	if err != nil {
		return 0, false, redisErr("check token", err)
	}
	if len(res) != 2 {
		return 0, false, fmt.Errorf("session: redis check token: unexpected reply %v", res)
	}
	vs, _ := res[0].(string)
	v, err := strconv.ParseInt(vs, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("session: redis check token: bad version %q", vs)
	}
	denied, _ := res[1].(int64)
	return v, denied == 1, nil
}

// StartFamily implements TokenStore.
func (s *RedisStore) StartFamily(ctx context.Context, family, jti string, until time.Time) error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	if err := s.rdb.SetArgs(ctx, s.tokFamilyKey(family), jti, redis.SetArgs{ExpireAt: until}).Err(); err != nil {
		return redisErr("start refresh family", err)
	}
	return nil
}

// SpendRefresh implements TokenStore.
func (s *RedisStore) SpendRefresh(ctx context.Context, family, jti, next string, until time.Time) error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	r, err := tokensSpendScript.Run(ctx, s.rdb, []string{s.tokFamilyKey(family)}, jti, next, ms(until)).Int64()
	if err != nil {
		return redisErr("spend refresh token", err)
	}
	switch r {
	case 1:
		return nil
	case 0:
		return ErrInvalidToken
	}
	return ErrRefreshReused
}

// RevocationSnapshot implements TokenStore.
func (s *RedisStore) RevocationSnapshot(ctx context.Context, now time.Time) (*RevocationSnapshot, error) {
	if s.closed.isClosed() {
		return nil, ErrClosed
	}
	res, err := tokensSnapshotScript.Run(ctx, s.rdb, []string{s.tokVersionsKey(), s.tokBumpsKey(), s.tokDeniedKey()}, ms(now)).Slice()
	if err != nil {
		return nil, redisErr("revocation snapshot", err)
	}
	bad := fmt.Errorf("session: redis revocation snapshot: unexpected reply")
	if len(res) != 2 {
		return nil, bad
	}
	vers, ok1 := res[0].([]any)
	denied, ok2 := res[1].([]any)
	if !ok1 || !ok2 || len(vers)%3 != 0 || len(denied)%2 != 0 {
		return nil, bad
	}
	snap := &RevocationSnapshot{}
	for i := 0; i < len(vers); i += 3 {
		u, _ := vers[i].(string)
		until, err1 := parseScore(vers[i+1])
		vs, _ := vers[i+2].(string)
		v, err2 := strconv.ParseInt(vs, 10, 64)
		if err1 != nil || err2 != nil {
			return nil, bad
		}
		snap.Versions = append(snap.Versions, Revocation{UserID: u, Version: v, Until: until})
	}
	for i := 0; i < len(denied); i += 2 {
		j, _ := denied[i].(string)
		until, err := parseScore(denied[i+1])
		if err != nil {
			return nil, bad
		}
		snap.Denied = append(snap.Denied, Revocation{JTI: j, Until: until})
	}
	return snap, nil
}

func parseScore(v any) (time.Time, error) {
	s, _ := v.(string)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(int64(f)), nil
}

// parseRevocation decodes "v <until> <version> <userID>" or
// "d <until> 0 <jti>". Anyone may publish on the channel, so it is
// checked; a malformed message is an error that breaks the subscription
// (and so makes the Manager reload a snapshot) rather than being missed.
func parseRevocation(msg string) (Revocation, error) {
	parts := strings.SplitN(msg, " ", 4)
	if len(parts) != 4 || parts[3] == "" {
		return Revocation{}, fmt.Errorf("session: malformed revocation message %.40q", msg)
	}
	until, err1 := parseScore(parts[1])
	v, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return Revocation{}, fmt.Errorf("session: malformed revocation message %.40q", msg)
	}
	switch parts[0] {
	case "v":
		return Revocation{UserID: parts[3], Version: v, Until: until}, nil
	case "d":
		return Revocation{JTI: parts[3], Until: until}, nil
	}
	return Revocation{}, fmt.Errorf("session: malformed revocation message %.40q", msg)
}

// redisPingEvery is how long a subscription may stay silent before it is
// pinged; no answer to the ping within as long again means it is broken
// (a half-open connection reports nothing, it only stops delivering).
var redisPingEvery = 5 * time.Second

// SubscribeRevocations implements TokenStore: a Pub/Sub subscription to
// <prefix>t:revoked, returned once Redis has confirmed it.
func (s *RedisStore) SubscribeRevocations(ctx context.Context) (RevocationSubscription, error) {
	if s.closed.isClosed() {
		return nil, ErrClosed
	}
	ps := s.rdb.Subscribe(ctx, s.tokChannel())
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			_ = ps.Close()
			return nil, redisErr("subscribe to revocations", err)
		}
		if _, ok := msg.(*redis.Subscription); ok {
			return &redisRevSub{ps: ps}, nil
		}
	}
}

type redisRevSub struct {
	ps     *redis.PubSub
	pinged bool
}

// Next implements RevocationSubscription.
func (r *redisRevSub) Next(ctx context.Context) (Revocation, error) {
	for {
		msg, err := r.ps.ReceiveTimeout(ctx, redisPingEvery)
		if ctx.Err() != nil {
			return Revocation{}, ctx.Err()
		}
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return Revocation{}, err
			}
			if r.pinged {
				return Revocation{}, errors.New("session: revocation subscription did not answer a ping")
			}
			r.pinged = true
			if err := r.ps.Ping(ctx); err != nil {
				return Revocation{}, err
			}
			continue
		}
		r.pinged = false
		if m, ok := msg.(*redis.Message); ok {
			return parseRevocation(m.Payload)
		}
	}
}

// Close implements RevocationSubscription.
func (r *redisRevSub) Close() error { return r.ps.Close() }
