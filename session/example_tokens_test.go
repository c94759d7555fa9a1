package session_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http/httptest"

	"github.com/groundwork-go/groundwork/session"
)

// A token pair for a logged-in session, verified with no store round
// trip, and revoked.
func ExampleManager_IssueToken() {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	auth := session.AuthenticatorFunc(func(_ context.Context, username, password string) (*session.Principal, error) {
		if username != "alice" || password != "secret" {
			return nil, session.ErrInvalidCredentials
		}
		return &session.Principal{UserID: "u1", Username: "alice", Roles: []string{"admin"}}, nil
	})
	m, err := session.NewManager(session.NewMemoryStore(), auth, session.WithSigningKey("2025-01", key))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	ctx := context.Background()
	s, err := m.Login(httptest.NewRecorder(), httptest.NewRequest("POST", "/login", nil), "alice", "secret")
	if err != nil {
		fmt.Println(err)
		return
	}

	access, refresh, err := m.IssueToken(ctx, s)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := m.VerifyToken(ctx, access)
	fmt.Println(p.Username, p.Roles, err)

	access, _, err = m.RefreshToken(ctx, refresh)
	fmt.Println("refreshed:", err)
	_, _, err = m.RefreshToken(ctx, refresh) // the same one again
	fmt.Println(err)

	_ = m.RevokeToken(ctx, access)
	_, err = m.VerifyToken(ctx, access)
	fmt.Println(err)
	// Output:
	// alice [admin] <nil>
	// refreshed: <nil>
	// session: token revoked: session: refresh token reused; its family is revoked
	// session: token revoked
}
