package session_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/groundwork-go/groundwork/session"
)

// An unknown user and a wrong password get the identical error, and each
// costs exactly one bcrypt comparison, so neither the answer nor its time
// says whether the user exists.
func TestPasswordAuthenticatorUnknownUserLikeWrongPassword(t *testing.T) {
	hash, err := session.HashPassword("right")
	if err != nil {
		t.Fatal(err)
	}
	alice := &session.Principal{UserID: "1", Username: "alice"}
	a := session.NewPasswordAuthenticator(func(_ context.Context, username string) ([]byte, *session.Principal, error) {
		if username == "alice" {
			return hash, alice, nil
		}
		return nil, nil, session.ErrInvalidCredentials
	})
	var compares atomic.Int64
	defer session.CountBcrypt(&compares)()
	ctx := context.Background()

	_, errWrong := a.Authenticate(ctx, "alice", "wrong")
	if compares.Load() != 1 {
		t.Fatalf("a wrong password ran %d bcrypt comparisons, want 1", compares.Load())
	}
	_, errUnknown := a.Authenticate(ctx, "mallory", "wrong")
	if compares.Load() != 2 {
		t.Fatalf("an unknown user ran %d bcrypt comparisons, want 1", compares.Load()-1)
	}
	if errWrong != session.ErrInvalidCredentials || errUnknown != session.ErrInvalidCredentials {
		t.Fatalf("wrong password: %v; unknown user: %v; want ErrInvalidCredentials for both, unwrapped", errWrong, errUnknown)
	}
	p, err := a.Authenticate(ctx, "alice", "right")
	if err != nil || p != alice {
		t.Fatalf("the right password: %v, %v", p, err)
	}
	// The stand-in hash costs what HashPassword's do.
	if c, err := bcrypt.Cost(session.DummyHash); err != nil || c != session.PasswordCost {
		t.Fatalf("the stand-in hash has cost %d (%v), want %d", c, err, session.PasswordCost)
	}
	if c, _ := bcrypt.Cost(hash); c != session.PasswordCost {
		t.Fatalf("HashPassword cost %d", c)
	}
}

// The stand-in hash lets nothing in, not even the empty password, and a
// lookup that finds a hash but no principal is refused too.
func TestPasswordAuthenticatorRefusesOddLookups(t *testing.T) {
	hash, _ := session.HashPassword("")
	lookups := map[string]session.UserLookup{
		"nil hash":      func(context.Context, string) ([]byte, *session.Principal, error) { return nil, nil, nil },
		"nil principal": func(context.Context, string) ([]byte, *session.Principal, error) { return hash, nil, nil },
	}
	for name, l := range lookups {
		if p, err := session.NewPasswordAuthenticator(l).Authenticate(context.Background(), "x", ""); err != session.ErrInvalidCredentials || p != nil {
			t.Errorf("%s: %v, %v; want ErrInvalidCredentials", name, p, err)
		}
	}
	down := errors.New("db down")
	l := func(context.Context, string) ([]byte, *session.Principal, error) { return nil, nil, down }
	if _, err := session.NewPasswordAuthenticator(l).Authenticate(context.Background(), "x", "y"); !errors.Is(err, down) {
		t.Errorf("a failed lookup: %v, want it returned", err)
	}
	if _, err := session.NewPasswordAuthenticator(nil).Authenticate(context.Background(), "x", "y"); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("nil lookup: %v, want ErrInvalid", err)
	}
}

func TestHashPasswordTooLong(t *testing.T) {
	if _, err := session.HashPassword(strings.Repeat("x", 73)); err == nil || !strings.Contains(err.Error(), "72") {
		t.Fatalf("a 73-byte password: %v, want an error naming the 72-byte limit", err)
	}
}

// bcrypt reads only the first 72 bytes of a password: HashPassword
// refuses a longer one with a clear error, and PasswordAuthenticator
// refuses a longer one that shares its first 72 bytes with the right
// password, as a wrong password (one comparison, the same error).
func TestPasswordOver72Bytes(t *testing.T) {
	long := strings.Repeat("p", session.MaxPasswordBytes)
	if _, err := session.HashPassword(long + "x"); !errors.Is(err, session.ErrInvalid) || !errors.Is(err, bcrypt.ErrPasswordTooLong) ||
		!strings.Contains(err.Error(), "73 bytes") {
		t.Fatalf("HashPassword of 73 bytes: %v, want ErrInvalid naming the length", err)
	}
	hash, err := session.HashPassword(long) // 72 bytes: the most bcrypt takes
	if err != nil {
		t.Fatal(err)
	}
	alice := &session.Principal{UserID: "1", Username: "alice"}
	a := session.NewPasswordAuthenticator(func(context.Context, string) ([]byte, *session.Principal, error) {
		return hash, alice, nil
	})
	var compares atomic.Int64
	defer session.CountBcrypt(&compares)()
	ctx := context.Background()
	if p, err := a.Authenticate(ctx, "alice", long); err != nil || p != alice {
		t.Fatalf("the 72-byte password: %v, %v", p, err)
	}
	for i, pw := range []string{long + "x", long + strings.Repeat("y", 1000)} {
		before := compares.Load()
		if p, err := a.Authenticate(ctx, "alice", pw); err != session.ErrInvalidCredentials || p != nil {
			t.Fatalf("over-long password %d sharing the first 72 bytes: %v, %v; want ErrInvalidCredentials", i, p, err)
		}
		if n := compares.Load() - before; n != 1 {
			t.Fatalf("over-long password %d ran %d bcrypt comparisons, want 1 (a wrong password's path)", i, n)
		}
	}
}
