package session_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/session"
)

// slideFixture is a RedisStore with one session of alice (created at
// base, idle 10m, absolute as given) and the raw client to look at its
// hash.
type slideFixture struct {
	st    *session.RedisStore
	rdb   redis.UniversalClient
	rec   *session.Record
	key   string // the session hash
	index string // alice's index
}

func newSlideFixture(t *testing.T, absolute time.Duration) *slideFixture {
	t.Helper()
	rdb := redisClient(t, testserver.RedisURL(t))
	prefix := corePrefix()
	st := session.NewRedisStore(rdb, session.WithKeyPrefix(prefix))
	sum := sha256.Sum256([]byte("alice"))
	shard := hex.EncodeToString(sum[:4])
	secret := sha256.Sum256([]byte(rand.Text()))
	ref := session.Ref{Shard: shard, Hash: hex.EncodeToString(secret[:])}
	rec := &session.Record{Ref: ref, UserID: "alice", Created: base, Absolute: base.Add(absolute),
		Idle: 10 * time.Minute, IdleDeadline: base.Add(10 * time.Minute), Values: map[string]string{"v:x": "1"}}
	if err := st.CreateSession(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return &slideFixture{st: st, rdb: rdb, rec: rec,
		key: prefix + "{" + shard + "}:s:" + ref.Hash, index: prefix + "{" + shard + "}:u:alice"}
}

// load loads the session at base+at and checks the deadline it returns
// and the one stored are both base+want.
func (f *slideFixture) load(t *testing.T, at, want time.Duration) {
	t.Helper()
	got, err := f.st.LoadSession(context.Background(), f.rec.Ref, base.Add(at))
	if err != nil {
		t.Fatalf("load at +%v: %v", at, err)
	}
	if got.Values["v:x"] != "1" || got.UserID != "alice" {
		t.Fatalf("load at +%v: %+v", at, got)
	}
	stored, err := f.rdb.HGet(context.Background(), f.key, "@d").Result()
	if err != nil {
		t.Fatal(err)
	}
	w := base.Add(want)
	if !got.IdleDeadline.Equal(w) || stored != strconv.FormatInt(w.UnixMilli(), 10) {
		t.Fatalf("load at +%v: deadline returned %v, stored %s; want %v (%d)", at, got.IdleDeadline, stored, w, w.UnixMilli())
	}
}

// A load that would move the idle deadline by less than 1% of the idle
// timeout writes nothing; one that moves it by 1% or more writes it; the
// deadline never moves back.
func TestRedisSlideStep(t *testing.T) {
	f := newSlideFixture(t, time.Hour)
	ctx := context.Background()
	f.load(t, time.Minute, 11*time.Minute)
	f.load(t, time.Minute+5*time.Second, 11*time.Minute) // 5s < 6s: not written
	f.load(t, time.Minute+5999*time.Millisecond, 11*time.Minute)
	f.load(t, time.Minute+6*time.Second, 11*time.Minute+6*time.Second) // a step: written
	f.load(t, 30*time.Second, 11*time.Minute+6*time.Second)            // a clock behind: never back
	// Deleted, the session is gone however fresh this store's hint.
	if err := f.st.DeleteSession(ctx, f.rec.Ref); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.LoadSession(ctx, f.rec.Ref, base.Add(time.Minute+7*time.Second)); !errorsIs(err, session.ErrNoSession) {
		t.Fatalf("load after delete: %v, want ErrNoSession", err)
	}
}

// A session slid onto its absolute deadline is read without the script
// until it expires; then the load deletes it and drops it from its
// user's index, as the script does.
func TestRedisSlideExpiresAtAbsolute(t *testing.T) {
	f := newSlideFixture(t, 12*time.Minute)
	ctx := context.Background()
	f.load(t, 5*time.Minute, 12*time.Minute) // capped at the absolute deadline
	f.load(t, 6*time.Minute, 12*time.Minute)
	f.load(t, 12*time.Minute-time.Millisecond, 12*time.Minute)
	if _, err := f.st.LoadSession(ctx, f.rec.Ref, base.Add(12*time.Minute)); !errorsIs(err, session.ErrNoSession) {
		t.Fatalf("load at the absolute deadline: %v, want ErrNoSession", err)
	}
	if n := f.rdb.Exists(ctx, f.key).Val(); n != 0 {
		t.Fatal("the expired session's hash is still there")
	}
	if in := f.rdb.SIsMember(ctx, f.index, f.rec.Ref.Hash).Val(); in {
		t.Fatal("the expired session is still in its user's index")
	}
}
