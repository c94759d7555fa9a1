package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/session"
)

// waitDropped fails the test unless the proxy lost a reply.
func waitDropped(t *testing.T, p *replyDropper) {
	t.Helper()
	select {
	case <-p.dropped:
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy never lost a reply: the test did not test anything")
	}
}

// A refresh token's spend whose reply is lost is sent again by go-redis
// (its default MaxRetries): the retry must not look like a reuse and
// revoke the family of a user who did nothing wrong.
func TestReview2RefreshSpendRetried(t *testing.T) {
	p := newReplyDropper(t, redisAddr(t))
	st := session.NewRedisStore(p.retryingClient(t), session.WithKeyPrefix(corePrefix()))
	m := newTokenManager(t, st, session.WithSigningKey("k", edKey(t)))
	ctx := context.Background()
	_, refresh := issue(t, m, alice)

	p.arm(":t:f:") // the family key: only the spend script
	_, next, err := m.RefreshToken(ctx, refresh)
	waitDropped(t, p)
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
	p := newReplyDropper(t, redisAddr(t))
	st := session.NewRedisStore(p.retryingClient(t), session.WithKeyPrefix(corePrefix()))
	m, _ := newManager(t, st)
	h := whoami(m)

	p.arm("@c") // only the create script carries the created field
	first := login(t, m, "alice", nil)
	waitDropped(t, p)
	wantUser(t, h, first, "id-alice")

	p.arm("@c")
	second := login(t, m, "bob", first) // a renewal: take, then create
	waitDropped(t, p)
	wantUser(t, h, second, "id-bob")
	wantDenied(t, h, first)
}

// A remember-me rotation whose reply is lost is sent again by go-redis:
// the retry must count as the rotation it was. Taken for a concurrent
// tab's, the browser kept the old validator, whose grace ends in a
// minute; its next use then looked like theft and revoked every device
// of the user.
func TestReview2RememberRotateRetried(t *testing.T) {
	p := newReplyDropper(t, redisAddr(t))
	f := newRememberFixture(t, session.NewRedisStore(p.retryingClient(t), session.WithKeyPrefix(corePrefix())))
	laptop := f.remember(t, "alice", "Firefox")
	phone := f.remember(t, "alice", "Safari")

	p.arm("}:d:") // the device key: during a resume only the rotate script
	_, rotated, err := f.resume(t, laptop)
	waitDropped(t, p)
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
