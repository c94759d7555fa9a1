package session_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/session"
)

var noAuth = session.AuthenticatorFunc(func(context.Context, string, string) (*session.Principal, error) {
	return nil, session.ErrInvalidCredentials
})

func edKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// tokenAuth knows alice (password "pw").
var tokenAuth = session.AuthenticatorFunc(func(_ context.Context, username, password string) (*session.Principal, error) {
	if username != alice.Username || password != "pw" {
		return nil, session.ErrInvalidCredentials
	}
	p := *alice
	return &p, nil
})

func newTokenManager(t testing.TB, st session.Store, opts ...session.Option) *session.Manager {
	t.Helper()
	m, err := session.NewManager(st, tokenAuth, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

var alice = &session.Principal{UserID: "u1", Username: "alice", Roles: []string{"admin"}, Permissions: []string{"users:read"}, Attrs: map[string]string{"tenant": "t1"}}

// clients numbers the addresses logins come from, so that the tests'
// many logins never add up to a client lockout.
var clients atomic.Int64

// loggedIn logs p in with a real Login (p must be one tokenAuth knows).
func loggedIn(t testing.TB, m *session.Manager, p *session.Principal) *session.Session {
	t.Helper()
	n := clients.Add(1)
	s, err := m.Login(httptest.NewRecorder(), loginReq(fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255)), p.Username, "pw")
	if err != nil {
		t.Fatalf("Login %s: %v", p.Username, err)
	}
	return s
}

// issue logs p in and issues a token pair for the session.
func issue(t testing.TB, m *session.Manager, p *session.Principal) (access, refresh string) {
	t.Helper()
	a, r, err := m.IssueToken(context.Background(), loggedIn(t, m, p))
	if err != nil {
		t.Fatalf("IssueToken: %v", err)
	}
	return a, r
}

// watchEvents collects what a Manager's revocation watch does.
type watchEvents struct {
	trust   chan bool
	applied chan session.Revocation
}

func newWatchEvents() *watchEvents {
	return &watchEvents{trust: make(chan bool, 1000), applied: make(chan session.Revocation, 1000)}
}

func (w *watchEvents) hooks() session.TokenTestHooks {
	return session.TokenTestHooks{
		Trust:   func(b bool) { w.trust <- b },
		Applied: func(r session.Revocation) { w.applied <- r },
	}
}

const deadline = 30 * time.Second

// waitTrust waits until the watch reports want.
func (w *watchEvents) waitTrust(t testing.TB, want bool) {
	t.Helper()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for {
		select {
		case b := <-w.trust:
			if b == want {
				return
			}
		case <-timer.C:
			t.Fatalf("the revocation watch never became trusted=%v", want)
		}
	}
}

// waitApplied waits until the watch applied a revocation of userID.
func (w *watchEvents) waitApplied(t testing.TB, userID string) {
	t.Helper()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for {
		select {
		case r := <-w.applied:
			if r.UserID == userID {
				return
			}
		case <-timer.C:
			t.Fatalf("no revocation of %q was applied", userID)
		}
	}
}

// signerOnly hides the concrete key type: a key held in an HSM or KMS is
// only a crypto.Signer.
type signerOnly struct{ k *ecdsa.PrivateKey }

func (s signerOnly) Public() crypto.PublicKey { return s.k.Public() }
func (s signerOnly) Sign(r io.Reader, digest []byte, o crypto.SignerOpts) ([]byte, error) {
	return s.k.Sign(r, digest, o)
}

func httptestRequest(ctx context.Context) *http.Request {
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://example.test/", nil)
	return r
}
