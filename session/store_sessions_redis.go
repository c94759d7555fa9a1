package session

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/redisx"
)

// Every session operation is one script on keys of one shard's slot:
// <prefix>{<shard>}:s:<hash> (the session hash) and
// <prefix>{<shard>}:u:<userID> (the user's index, a set of hashes).
// Hash fields starting with "@" are the store's own (deadlines, user);
// a session's values are stored as "." + key, out of their reach.
var (
	//go:embed scripts/sessions_create.lua
	sessionsCreateLua    string
	sessionsCreateScript = redis.NewScript(sessionsCreateLua)
	//go:embed scripts/sessions_load.lua
	sessionsLoadLua    string
	sessionsLoadScript = redis.NewScript(sessionsLoadLua)
	//go:embed scripts/sessions_update.lua
	sessionsUpdateLua    string
	sessionsUpdateScript = redis.NewScript(sessionsUpdateLua)
	//go:embed scripts/sessions_take.lua
	sessionsTakeLua    string
	sessionsTakeScript = redis.NewScript(sessionsTakeLua)
	//go:embed scripts/sessions_delete.lua
	sessionsDeleteLua    string
	sessionsDeleteScript = redis.NewScript(sessionsDeleteLua)
	//go:embed scripts/sessions_deleteuser.lua
	sessionsDeleteUserLua    string
	sessionsDeleteUserScript = redis.NewScript(sessionsDeleteUserLua)
	//go:embed scripts/sessions_list.lua
	sessionsListLua    string
	sessionsListScript = redis.NewScript(sessionsListLua)
)

// redisGrace is how long past its deadline Redis keeps a session before
// PEXPIRE collects it: deadlines are judged by the callers' clocks, which
// may run a little apart from Redis's.
const redisGrace = time.Minute

// WithKeyPrefix overrides the default key prefix "session:". It may not
// be empty or hold "{" or "}" (they would change the keys' cluster slot).
func WithKeyPrefix(prefix string) StoreOption {
	return func(s *RedisStore) error {
		if prefix == "" || strings.ContainsAny(prefix, "{}") {
			return fmt.Errorf("%w: key prefix %q: want a non-empty prefix without { or }", ErrInvalid, prefix)
		}
		s.prefix = prefix
		return nil
	}
}

// usable is ErrClosed after Close, or the error of a bad StoreOption.
func (s *RedisStore) usable() error {
	if s.closed.isClosed() {
		return ErrClosed
	}
	return s.optErr
}

func (s *RedisStore) shardBase(shard string) string { return s.prefix + redisx.HashTag(shard) }

// sessionKey is shardBase(ref.Shard)+":s:"+ref.Hash in one allocation: a
// valid ref's shard is hex, which HashTag leaves as it is.
func (s *RedisStore) sessionKey(ref Ref) string {
	return s.prefix + "{" + ref.Shard + "}:s:" + ref.Hash
}
func (s *RedisStore) indexPrefix(shard string) string {
	return s.shardBase(shard) + ":u:"
}

func redisErr(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return wrapOp("redis "+op, err)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// backstop is the PEXPIRE of a session whose deadline is d, seen at now.
func backstop(d, now time.Time) int64 {
	return max(d.Sub(now), 0).Milliseconds() + redisGrace.Milliseconds()
}

// CreateSession implements SessionStore.
func (s *RedisStore) CreateSession(ctx context.Context, rec *Record) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := checkRecord(rec); err != nil {
		return err
	}
	return s.create(ctx, rec)
}

func (s *RedisStore) create(ctx context.Context, rec *Record) error {
	keys := []string{s.sessionKey(rec.Ref)}
	if rec.UserID != "" {
		keys = append(keys, s.indexPrefix(rec.Ref.Shard)+rec.UserID)
	}
	args := []any{rec.Ref.Hash, backstop(rec.Absolute, rec.Created),
		"@c", ms(rec.Created), "@a", ms(rec.Absolute), "@i", rec.Idle.Milliseconds(), "@d", ms(rec.IdleDeadline)}
	if rec.UserID != "" {
		args = append(args, "@u", rec.UserID)
	}
	for k, v := range rec.Values {
		args = append(args, "."+k, v)
	}
	n, err := sessionsCreateScript.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return redisErr("create", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: session %s exists", ErrInvalid, rec.Ref.Shard)
	}
	return nil
}

// LoadSession implements SessionStore: one round trip. It writes the
// slid idle deadline only when it moves by a slide step (1% of the idle
// timeout) or more, so a busy session costs Redis a read, not a write, on
// most requests; the price is that a session may end up to one step
// before its full idle timeout (SessionStore.LoadSession allows it).
func (s *RedisStore) LoadSession(ctx context.Context, ref Ref, now time.Time) (*Record, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	if !validRef(ref) {
		return nil, ErrNoSession
	}
	key := s.sessionKey(ref)
	if s.hints.readOnly(ref.Hash, now) {
		// No slide is due: a plain read, judged here as the script
		// would judge it. An expired session goes on to the script,
		// which deletes it.
		f, err := s.rdb.HGetAll(ctx, key).Result()
		if err != nil {
			return nil, redisErr("load", err)
		}
		if len(f) == 0 {
			s.hints.forget(ref.Hash)
			return nil, ErrNoSession
		}
		rec := &Record{Ref: ref, Values: make(map[string]string, len(f))}
		for k, v := range f {
			rec.decodeRedisField(k, v)
		}
		if err := rec.checkRedis(); err != nil {
			return nil, err
		}
		if rec.liveAt(now) {
			return rec, nil
		}
	}
	res, err := sessionsLoadScript.Run(ctx, s.rdb, []string{key},
		ms(now), redisGrace.Milliseconds()).StringSlice()
	if errors.Is(err, redis.Nil) {
		s.hints.forget(ref.Hash)
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, redisErr("load", err)
	}
	rec, err := decodeRedisRecord(ref, res)
	if err == nil {
		s.hints.saw(rec)
	}
	return rec, err
}

// decodeRedisRecord builds a Record from a session hash's fields.
func decodeRedisRecord(ref Ref, f []string) (*Record, error) {
	rec := &Record{Ref: ref, Values: make(map[string]string, len(f)/2)}
	for i := 0; i+1 < len(f); i += 2 {
		rec.decodeRedisField(f[i], f[i+1])
	}
	if err := rec.checkRedis(); err != nil {
		return nil, err
	}
	return rec, nil
}

// decodeRedisField sets the part of rec that hash field k holds.
func (rec *Record) decodeRedisField(k, v string) {
	if strings.HasPrefix(k, ".") {
		rec.Values[k[1:]] = v
		return
	}
	if k == "@u" {
		rec.UserID = v
		return
	}
	// A damaged number reads as 0, which checkRedis refuses.
	n, _ := strconv.ParseInt(v, 10, 64)
	switch k {
	case "@c":
		rec.Created = time.UnixMilli(n)
	case "@a":
		rec.Absolute = time.UnixMilli(n)
	case "@i":
		rec.Idle = time.Duration(n) * time.Millisecond
	case "@d":
		rec.IdleDeadline = time.UnixMilli(n)
	}
}

// checkRedis names a record whose hash lacks a deadline.
func (rec *Record) checkRedis() error {
	if rec.Absolute.IsZero() || rec.IdleDeadline.IsZero() || rec.Idle <= 0 {
		return fmt.Errorf("session: redis load: session %s is damaged", rec.Ref.Shard)
	}
	return nil
}

// UpdateSession implements SessionStore.
func (s *RedisStore) UpdateSession(ctx context.Context, ref Ref, set map[string]string, del []string, now time.Time) error {
	if err := s.usable(); err != nil {
		return err
	}
	if !validRef(ref) {
		return ErrNoSession
	}
	args := make([]any, 0, 2+2*len(set)+len(del))
	args = append(args, ms(now), len(set))
	for k, v := range set {
		args = append(args, "."+k, v)
	}
	for _, k := range del {
		args = append(args, "."+k)
	}
	n, err := sessionsUpdateScript.Run(ctx, s.rdb, []string{s.sessionKey(ref)}, args...).Int()
	if err != nil {
		return redisErr("update", err)
	}
	if n == 0 {
		return ErrNoSession
	}
	return nil
}

// RenewSession implements SessionStore. old and rec usually sit in
// different slots (an anonymous session's shard is random), so this is
// two scripts: the first ends old, the second creates rec. A failure
// between them leaves neither: the user logs in again.
func (s *RedisStore) RenewSession(ctx context.Context, old Ref, rec *Record, now time.Time) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := checkRenew(old, rec); err != nil {
		return err
	}
	n, err := sessionsTakeScript.Run(ctx, s.rdb, []string{s.sessionKey(old)},
		ms(now), s.indexPrefix(old.Shard), old.Hash).Int()
	if err != nil {
		return redisErr("renew", err)
	}
	if n == 0 {
		return ErrNoSession
	}
	return s.create(ctx, rec)
}

// DeleteSession implements SessionStore.
func (s *RedisStore) DeleteSession(ctx context.Context, ref Ref) error {
	if err := s.usable(); err != nil {
		return err
	}
	if !validRef(ref) {
		return nil
	}
	err := sessionsDeleteScript.Run(ctx, s.rdb, []string{s.sessionKey(ref)}, s.indexPrefix(ref.Shard), ref.Hash).Err()
	if err != nil {
		return redisErr("delete", err)
	}
	return nil
}

// DeleteUserSessions implements SessionStore: one script over the user's
// index, whatever the number of sessions.
func (s *RedisStore) DeleteUserSessions(ctx context.Context, userID string, now time.Time) (int, error) {
	if err := s.usable(); err != nil {
		return 0, err
	}
	shard := shardOf(userID)
	n, err := sessionsDeleteUserScript.Run(ctx, s.rdb, []string{s.indexPrefix(shard) + userID},
		s.shardBase(shard)+":s:", ms(now)).Int()
	if err != nil {
		return 0, redisErr("delete user sessions", err)
	}
	return n, nil
}

// ListUserSessions implements SessionStore.
func (s *RedisStore) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]*Record, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	shard := shardOf(userID)
	res, err := sessionsListScript.Run(ctx, s.rdb, []string{s.indexPrefix(shard) + userID},
		s.shardBase(shard)+":s:", ms(now)).Slice()
	if err != nil {
		return nil, redisErr("list user sessions", err)
	}
	var out []*Record
	for i := 0; i+1 < len(res); i += 2 {
		h, _ := res[i].(string)
		raw, _ := res[i+1].([]any)
		f := make([]string, 0, len(raw))
		for _, x := range raw {
			str, _ := x.(string)
			f = append(f, str)
		}
		rec, err := decodeRedisRecord(Ref{Shard: shard, Hash: h}, f)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	sortRecords(out)
	return out, nil
}
