package session_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/session"
)

// A session Redis collects by its PEXPIRE (idle and never loaded again)
// leaves its hash in the user's index, and every login pushes the index's
// own expiry further: a user who logs in often (a script, a browser that
// drops cookies) grows the index for ever, and LogoutAll's one script
// walks all of it. Logins prune what they find dead.
func TestReviewUserIndexDoesNotGrowWithDeadSessions(t *testing.T) {
	rdb := redisClient(t, testserver.RedisURL(t))
	prefix := corePrefix()
	m, _ := newManager(t, session.NewRedisStore(rdb, session.WithKeyPrefix(prefix)), session.WithClientLockout(1000, time.Hour))
	ctx := context.Background()
	const rounds = 100
	index := ""
	for range rounds {
		login(t, m, "alice", nil)
		// Redis expires the session (as the PEXPIRE backstop would).
		keys, err := rdb.Keys(ctx, prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			switch {
			case strings.Contains(k, "}:s:"):
				rdb.Del(ctx, k)
			case strings.HasSuffix(k, "}:u:id-alice"):
				index = k
			}
		}
	}
	n, err := rdb.SCard(ctx, index).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n > rounds/2 {
		t.Fatalf("user index %q holds %d hashes of dead sessions after %d logins", index, n, rounds)
	}
	if got, err := m.LogoutAll(ctx, "id-alice"); err != nil || got != 0 {
		t.Fatalf("LogoutAll = %d, %v", got, err)
	}
}
