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
