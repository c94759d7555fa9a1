package session_test

import (
	"errors"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/session"
)

// A login attempt whose throttle reply is lost is sent again by go-redis
// (its default MaxRetries): the retry must not count the attempt twice,
// or a user is locked out one failure early.
func TestReview2ThrottleAttemptRetried(t *testing.T) {
	rdb, p := lossyClient(t)
	st := session.NewRedisStore(rdb, session.WithKeyPrefix(corePrefix()))
	m, _ := newManager(t, st, session.WithLockout(3, time.Minute))

	dropped := loseScriptReply(p, "f:u:") // the username's attempt
	if _, err := tryLogin(m, loginReq("192.0.2.1"), "alice", "wrong"); !errors.Is(err, session.ErrInvalidCredentials) {
		t.Fatalf("first failure: %v", err)
	}
	waitDropped(t, dropped)
	if _, err := tryLogin(m, loginReq("192.0.2.1"), "alice", "wrong"); !errors.Is(err, session.ErrInvalidCredentials) {
		t.Fatalf("second failure: %v", err)
	}
	// Two failures of three: the third attempt goes ahead.
	if _, err := tryLogin(m, loginReq("192.0.2.1"), "alice", "pw"); err != nil {
		t.Fatalf("the right password after two failures (one of them retried by the client): %v", err)
	}
}
