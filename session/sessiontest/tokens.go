package sessiontest

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/session"
)

// testTokens checks the TokenStore part of the contract: token versions,
// the deny-list with its expiry, refresh families (a spent token used
// again revokes the family), the revocation snapshot and subscription,
// and ErrClosed after Close.
func testTokens(t *testing.T, h Harness) {
	ctx := context.Background()
	// Stores may judge a family's life by their own clock: real time.
	now := time.Now().Truncate(time.Millisecond)
	until := now.Add(time.Hour)
	open := func(t *testing.T) session.Store {
		s := h.NewStore(t)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}

	t.Run("Version", func(t *testing.T) {
		s := open(t)
		u, other := rand.Text(), rand.Text()
		if v, err := s.TokenVersion(ctx, u); err != nil || v != 0 {
			t.Fatalf("TokenVersion of a new user = %d, %v; want 0", v, err)
		}
		for want := int64(1); want <= 2; want++ {
			if v, err := s.BumpTokenVersion(ctx, u, until); err != nil || v != want {
				t.Fatalf("BumpTokenVersion = %d, %v; want %d", v, err, want)
			}
		}
		if v, err := s.TokenVersion(ctx, u); err != nil || v != 2 {
			t.Fatalf("TokenVersion after two bumps = %d, %v; want 2", v, err)
		}
		if v, denied, err := s.CheckToken(ctx, u, rand.Text()); err != nil || v != 2 || denied {
			t.Fatalf("CheckToken = %d, %v, %v; want 2, not denied", v, denied, err)
		}
		if v, err := s.TokenVersion(ctx, other); err != nil || v != 0 {
			t.Fatalf("another user's version = %d, %v; want 0", v, err)
		}
	})

	t.Run("Deny", func(t *testing.T) {
		s := open(t)
		u, jti, short := rand.Text(), rand.Text(), rand.Text()
		if err := s.DenyToken(ctx, jti, until); err != nil {
			t.Fatal(err)
		}
		if err := s.DenyToken(ctx, short, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, denied, err := s.CheckToken(ctx, u, jti); err != nil || !denied {
			t.Fatalf("CheckToken of a denied jti = %v, %v; want denied", denied, err)
		}
		if _, denied, err := s.CheckToken(ctx, u, rand.Text()); err != nil || denied {
			t.Fatalf("CheckToken of another jti = %v, %v; want not denied", denied, err)
		}
		snap, err := s.RevocationSnapshot(ctx, now)
		if err != nil || !hasJTI(snap, jti) || !hasJTI(snap, short) {
			t.Fatalf("snapshot at now = %+v, %v; want both denied jtis", snap, err)
		}
		// An entry past its until no longer matters: a later snapshot
		// leaves it out.
		snap, err = s.RevocationSnapshot(ctx, now.Add(2*time.Minute))
		if err != nil || !hasJTI(snap, jti) || hasJTI(snap, short) {
			t.Fatalf("snapshot after the short entry's until = %+v, %v; want only the long one", snap, err)
		}
	})

	t.Run("Family", func(t *testing.T) {
		s := open(t)
		fam, j1, j2, j3 := rand.Text(), rand.Text(), rand.Text(), rand.Text()
		if err := s.StartFamily(ctx, fam, j1, until); err != nil {
			t.Fatal(err)
		}
		if err := s.SpendRefresh(ctx, fam, j1, j2, until); err != nil {
			t.Fatalf("spending the current token: %v", err)
		}
		if err := s.SpendRefresh(ctx, fam, j2, j3, until); err != nil {
			t.Fatalf("spending the next: %v", err)
		}
		if err := s.SpendRefresh(ctx, fam, j1, rand.Text(), until); !errors.Is(err, session.ErrRefreshReused) {
			t.Fatalf("spending a spent token again: %v, want ErrRefreshReused", err)
		}
		// The reuse revoked the family: its current token is dead too.
		if err := s.SpendRefresh(ctx, fam, j3, rand.Text(), until); err == nil {
			t.Fatal("the family's current token was spent after the family was revoked")
		}
		if err := s.SpendRefresh(ctx, rand.Text(), j1, j2, until); !errors.Is(err, session.ErrInvalidToken) {
			t.Fatalf("an unknown family: %v, want ErrInvalidToken", err)
		}
	})

	t.Run("Subscription", func(t *testing.T) {
		s := open(t)
		u, jti := rand.Text(), rand.Text()
		if _, err := s.BumpTokenVersion(ctx, u, until); err != nil { // before: only in the snapshot
			t.Fatal(err)
		}
		sub, err := s.SubscribeRevocations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		snap, err := s.RevocationSnapshot(ctx, now)
		if err != nil || !hasVersion(snap, u, 1) {
			t.Fatalf("snapshot = %+v, %v; want %s at version 1", snap, err, u)
		}
		if _, err := s.BumpTokenVersion(ctx, u, until); err != nil {
			t.Fatal(err)
		}
		if err := s.DenyToken(ctx, jti, until); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		gotVersion, gotJTI := false, false
		for !gotVersion || !gotJTI {
			r, err := sub.Next(wctx)
			if err != nil {
				t.Fatalf("Next: %v (version delivered %v, jti %v)", err, gotVersion, gotJTI)
			}
			gotVersion = gotVersion || (r.UserID == u && r.Version == 2)
			gotJTI = gotJTI || r.JTI == jti
		}
		// Close makes a waiting Next return.
		done := make(chan error, 1)
		go func() { _, err := sub.Next(ctx); done <- err }()
		_ = sub.Close()
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("Next after Close returned no error")
			}
		case <-wctx.Done():
			t.Fatal("Next did not return after Close")
		}
	})

	t.Run("Closed", func(t *testing.T) {
		s := h.NewStore(t)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		u := rand.Text()
		for name, err := range map[string]error{
			"TokenVersion":     second(s.TokenVersion(ctx, u)),
			"BumpTokenVersion": second(s.BumpTokenVersion(ctx, u, until)),
			"DenyToken":        s.DenyToken(ctx, u, until),
			"CheckToken":       third(s.CheckToken(ctx, u, u)),
			"StartFamily":      s.StartFamily(ctx, u, u, until),
			"SpendRefresh":     s.SpendRefresh(ctx, u, u, u, until),
			"Snapshot":         second(s.RevocationSnapshot(ctx, now)),
			"Subscribe":        second(s.SubscribeRevocations(ctx)),
		} {
			if !errors.Is(err, session.ErrClosed) {
				t.Errorf("%s on a closed store: %v, want ErrClosed", name, err)
			}
		}
	})
}

func second[T any](_ T, err error) error        { return err }
func third[A, B any](_ A, _ B, err error) error { return err }

func hasJTI(s *session.RevocationSnapshot, jti string) bool {
	for _, r := range s.Denied {
		if r.JTI == jti {
			return true
		}
	}
	return false
}

func hasVersion(s *session.RevocationSnapshot, userID string, v int64) bool {
	for _, r := range s.Versions {
		if r.UserID == userID && r.Version == v {
			return true
		}
	}
	return false
}
