package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/session"
)

// lossyClient is a go-redis client with its default retries, through a
// proxy to the shared test redis-server that can lose replies.
func lossyClient(t *testing.T) (redis.UniversalClient, *testserver.RedisProxy) {
	t.Helper()
	opt, err := redis.ParseURL(testserver.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := testserver.NewRedisProxy(t, opt.Addr)
	rdb := redis.NewClient(&redis.Options{Addr: p.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb, p
}

// loseScriptReply arms p to lose the reply to the next script call
// (EVALSHA or EVAL) whose bytes hold pattern, as a network that drops a
// connection after the command went out does: the script runs on the
// server, the client reads EOF and — go-redis retries on EOF unless
// MaxRetries is -1 — sends the same command again on a new connection.
func loseScriptReply(p *testserver.RedisProxy, pattern string) <-chan struct{} {
	return p.DropReply(testserver.Drop{Command: testserver.ScriptCall(pattern)})
}

// waitDropped fails the test unless the proxy lost a reply.
func waitDropped(t *testing.T, dropped <-chan struct{}) {
	t.Helper()
	select {
	case <-dropped:
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy never lost a reply: the test did not test anything")
	}
}

// A refresh token's spend whose reply is lost is sent again by go-redis
// (its default MaxRetries): the retry must not look like a reuse and
// revoke the family of a user who did nothing wrong.
func TestReview2RefreshSpendRetried(t *testing.T) {
	rdb, p := lossyClient(t)
	st := session.NewRedisStore(rdb, session.WithKeyPrefix(corePrefix()))
	m := newTokenManager(t, st, session.WithSigningKey("k", edKey(t)))
	ctx := context.Background()
	_, refresh := issue(t, m, alice)

	dropped := loseScriptReply(p, ":t:f:") // the family key: only the spend script
	_, next, err := m.RefreshToken(ctx, refresh)
	waitDropped(t, dropped)
	if err != nil {
		t.Fatalf("RefreshToken whose reply was lost and retried: %v", err)
	}
	if _, _, err := m.RefreshToken(ctx, next); err != nil {
		t.Fatalf("the rotated refresh token after a retried spend: %v", err)
	}
	// A real reuse is still one.
	if _, _, err := m.RefreshToken(ctx, refresh); !errors.Is(err, session.ErrRefreshReused) {
		t.Fatalf("reusing the first refresh token: %v, want ErrRefreshReused", err)
	}
}

// A session create whose reply is lost is sent again by go-redis: the
// retry finds the session it made itself and must not fail the Login
// (nor the renewal of a logged-in session) as "session exists".
func TestReview2CreateRetried(t *testing.T) {
	rdb, p := lossyClient(t)
	st := session.NewRedisStore(rdb, session.WithKeyPrefix(corePrefix()))
	m, _ := newManager(t, st)
	h := whoami(m)

	dropped := loseScriptReply(p, "@c") // only the create script carries the created field
	first := login(t, m, "alice", nil)
	waitDropped(t, dropped)
	wantUser(t, h, first, "id-alice")

	dropped = loseScriptReply(p, "@c")
	second := login(t, m, "bob", first) // a renewal: take, then create
	waitDropped(t, dropped)
	wantUser(t, h, second, "id-bob")
	wantDenied(t, h, first)
}

// A remember-me rotation whose reply is lost is sent again by go-redis:
// the retry must count as the rotation it was. Taken for a concurrent
// tab's, the browser kept the old validator, whose grace ends in a
// minute; its next use then looked like theft and revoked every device
// of the user.
func TestReview2RememberRotateRetried(t *testing.T) {
	rdb, p := lossyClient(t)
	f := newRememberFixture(t, session.NewRedisStore(rdb, session.WithKeyPrefix(corePrefix())))
	laptop := f.remember(t, "alice", "Firefox")
	phone := f.remember(t, "alice", "Safari")

	dropped := loseScriptReply(p, "}:d:") // the device key: during a resume only the rotate script
	_, rotated, err := f.resume(t, laptop)
	waitDropped(t, dropped)
	if err != nil {
		t.Fatalf("resume whose rotation reply was lost: %v", err)
	}
	if rotated == nil || rotated.Value == laptop.Value {
		t.Fatalf("resume whose rotation reply was lost set no rotated cookie (%v): the browser keeps a validator that dies after the grace", rotated)
	}
	f.clock.add(session.DevicesGrace + time.Second)
	if _, _, err := f.resume(t, rotated); err != nil {
		t.Fatalf("the rotated cookie after the grace: %v", err)
	}
	if _, _, err := f.resume(t, phone); err != nil {
		t.Fatalf("alice's other device: %v", err)
	}
}
