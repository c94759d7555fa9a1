package asyncrpc

import (
	"context"
	_ "embed"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClaimResult is what a server learns when it claims a call.
type ClaimResult int

const (
	// Claimed: this server runs the call.
	Claimed ClaimResult = iota + 1
	// Running: another server (or an earlier request) runs it now.
	Running
	// Completed: the call ran and its response was published.
	Completed
)

// IdempotencyStore makes a message key run its work at most once across
// servers and retries. A claim is a lease: the server renews it while the
// work runs, so that a server that dies mid-work loses it and a retry can
// run the call elsewhere.
type IdempotencyStore interface {
	// Claim tries to make owner the one running key, for lease.
	Claim(ctx context.Context, key, owner string, lease time.Duration) (ClaimResult, error)
	// Renew extends owner's claim; false if owner no longer holds it.
	Renew(ctx context.Context, key, owner string, lease time.Duration) (bool, error)
	// Complete records key as done, for keep.
	Complete(ctx context.Context, key string, keep time.Duration) error
	// Release drops owner's claim without completing, so a retry may run
	// the call.
	Release(ctx context.Context, key, owner string) error
}

// NewMemoryIdempotency returns a store for one server process.
func NewMemoryIdempotency() IdempotencyStore {
	return &memoryStore{entries: map[string]memoryEntry{}}
}

type memoryStore struct {
	mu      sync.Mutex
	entries map[string]memoryEntry
	claims  int
}

type memoryEntry struct {
	owner   string // "" when done
	expires time.Time
}

func (s *memoryStore) live(key string, now time.Time) (memoryEntry, bool) {
	e, ok := s.entries[key]
	if ok && now.After(e.expires) {
		delete(s.entries, key)
		return e, false
	}
	return e, ok
}

func (s *memoryStore) Claim(_ context.Context, key, owner string, lease time.Duration) (ClaimResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.claims++; s.claims%1024 == 0 { // sweep now and then so the map stays bounded
		for k := range s.entries {
			s.live(k, now)
		}
	}
	switch e, ok := s.live(key, now); {
	case !ok:
		s.entries[key] = memoryEntry{owner: owner, expires: now.Add(lease)}
		return Claimed, nil
	case e.owner == "":
		return Completed, nil
	default:
		return Running, nil
	}
}

func (s *memoryStore) Renew(_ context.Context, key, owner string, lease time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if e, ok := s.live(key, now); ok && e.owner == owner {
		s.entries[key] = memoryEntry{owner: owner, expires: now.Add(lease)}
		return true, nil
	}
	return false, nil
}

func (s *memoryStore) Complete(_ context.Context, key string, keep time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries[key] = memoryEntry{expires: time.Now().Add(keep)}
	return nil
}

func (s *memoryStore) Release(_ context.Context, key, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.live(key, time.Now()); ok && e.owner == owner {
		delete(s.entries, key)
	}
	return nil
}

var (
	//go:embed scripts/claim.lua
	claimLua    string
	claimScript = redis.NewScript(claimLua)
	//go:embed scripts/renew.lua
	renewLua    string
	renewScript = redis.NewScript(renewLua)
	//go:embed scripts/release.lua
	releaseLua    string
	releaseScript = redis.NewScript(releaseLua)
)

// NewRedisIdempotency returns a store shared by every server using rdb:
// one key per call, prefix + message key, holding "running:<owner>" with
// the lease as its expiry, then "done" for keep.
func NewRedisIdempotency(rdb redis.UniversalClient, prefix string) IdempotencyStore {
	if prefix == "" {
		prefix = "asyncrpc:"
	}
	return &redisStore{rdb: rdb, prefix: prefix}
}

type redisStore struct {
	rdb    redis.UniversalClient
	prefix string
}

func (s *redisStore) Claim(ctx context.Context, key, owner string, lease time.Duration) (ClaimResult, error) {
	n, err := claimScript.Run(ctx, s.rdb, []string{s.prefix + key}, owner, lease.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("asyncrpc: claim %s: %w", key, err)
	}
	return ClaimResult(n), nil
}

func (s *redisStore) Renew(ctx context.Context, key, owner string, lease time.Duration) (bool, error) {
	n, err := renewScript.Run(ctx, s.rdb, []string{s.prefix + key}, owner, lease.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("asyncrpc: renew %s: %w", key, err)
	}
	return n == 1, nil
}

func (s *redisStore) Complete(ctx context.Context, key string, keep time.Duration) error {
	if err := s.rdb.Set(ctx, s.prefix+key, "done", keep).Err(); err != nil {
		return fmt.Errorf("asyncrpc: complete %s: %w", key, err)
	}
	return nil
}

func (s *redisStore) Release(ctx context.Context, key, owner string) error {
	if err := releaseScript.Run(ctx, s.rdb, []string{s.prefix + key}, owner).Err(); err != nil {
		return fmt.Errorf("asyncrpc: release %s: %w", key, err)
	}
	return nil
}
