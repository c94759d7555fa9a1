package session_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"

	"github.com/groundwork-go/groundwork/session"
)

// A token pair for a logged-in session, verified with no store round
// trip, and revoked.
func ExampleManager_IssueToken() {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	m, err := session.NewManager(tokensStore(session.NewMemoryStore()), noAuth,
		session.WithSigningKey("2025-01", key))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	ctx := context.Background()
	s := session.TokensNewSession(m, &session.Principal{UserID: "u1", Username: "alice", Roles: []string{"admin"}})

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
