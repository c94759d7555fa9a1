package asyncrpc

import (
	"context"
	_ "embed"
	"fmt"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"
)

// ClaimResult is what a server learns when it claims a call.
type ClaimResult int

const (
	// Claimed: this server runs the call.
	Claimed ClaimResult = iota + 1
	// Running: another server (or an earlier request) runs it now.
	Running
	// Completed: the call ran; its response is stored.
	Completed
)

// IdempotencyStore makes a message key run its work at most once across
// servers and retries, and keeps the response of a completed call so that
// a repeat of the call gets it again. A claim is a lease: the server
// renews it while the work runs, so that a server that dies mid-work loses
// it and a retry can run the call elsewhere. State moves by
// compare-and-set: free → running:owner → done, or back to free only by
// the owner's Release or the lease running out.
type IdempotencyStore interface {
	// Claim tries to make owner the one running key, for lease. For a
	// Completed key it also returns the response Complete stored.
	Claim(ctx context.Context, key, owner string, lease time.Duration) (res ClaimResult, response []byte, err error)
	// Renew extends owner's claim; false if owner no longer holds it.
	Renew(ctx context.Context, key, owner string, lease time.Duration) (bool, error)
	// Complete records key as done with its encoded response, kept for
	// keep, if owner still holds the claim or nobody does; false if
	// another owner holds it or the key is already done.
	Complete(ctx context.Context, key, owner string, response []byte, keep time.Duration) (bool, error)
	// Release drops owner's claim without completing, so a retry may run
	// the call.
	Release(ctx context.Context, key, owner string) error
}

// memoryMaxCompleted bounds the completed calls (with their responses) a
// memory store remembers, so that a server's memory does not grow with a
// day of traffic.
const memoryMaxCompleted = 65536

// NewMemoryIdempotency returns a store for one server process. It keeps
// the 65,536 most recently completed calls with their responses, each for
// its keep time (ServerOptions.Remember); a repeat of a call it forgot
// runs the call again. Use NewRedisIdempotency for the full guarantee, and
// across servers.
func NewMemoryIdempotency() IdempotencyStore {
	done, _ := lru.New[string, memoryDone](memoryMaxCompleted) // positive size: no error
	return &memoryStore{running: map[string]memoryClaim{}, done: done}
}

type memoryStore struct {
	mu      sync.Mutex
	running map[string]memoryClaim
	done    *lru.Cache[string, memoryDone]
	claims  int
}

type memoryClaim struct {
	owner   string
	expires time.Time
}

type memoryDone struct {
	response []byte
	expires  time.Time
}

// claim returns the live claim on key, dropping an expired one.
func (s *memoryStore) claim(key string, now time.Time) (memoryClaim, bool) {
	c, ok := s.running[key]
	if ok && !now.Before(c.expires) {
		delete(s.running, key)
		return c, false
	}
	return c, ok
}

// completed returns the live completion of key, dropping an expired one.
func (s *memoryStore) completed(key string, now time.Time) (memoryDone, bool) {
	d, ok := s.done.Get(key)
	if ok && !now.Before(d.expires) {
		s.done.Remove(key)
		return d, false
	}
	return d, ok
}

func (s *memoryStore) Claim(_ context.Context, key, owner string, lease time.Duration) (ClaimResult, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.claims++; s.claims%1024 == 0 { // sweep now and then: dead servers' claims expire
		for k := range s.running {
			s.claim(k, now)
		}
	}
	if d, ok := s.completed(key, now); ok {
		return Completed, d.response, nil
	}
	if _, ok := s.claim(key, now); ok {
		return Running, nil, nil
	}
	s.running[key] = memoryClaim{owner: owner, expires: now.Add(lease)}
	return Claimed, nil, nil
}

func (s *memoryStore) Renew(_ context.Context, key, owner string, lease time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if c, ok := s.claim(key, now); ok && c.owner == owner {
		s.running[key] = memoryClaim{owner: owner, expires: now.Add(lease)}
		return true, nil
	}
	return false, nil
}

func (s *memoryStore) Complete(_ context.Context, key, owner string, response []byte, keep time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if c, ok := s.claim(key, now); ok && c.owner != owner {
		return false, nil
	}
	if _, ok := s.completed(key, now); ok {
		return false, nil
	}
	delete(s.running, key)
	s.done.Add(key, memoryDone{response: response, expires: now.Add(keep)})
	return true, nil
}

func (s *memoryStore) Release(_ context.Context, key, owner string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.claim(key, time.Now()); ok && c.owner == owner {
		delete(s.running, key)
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
	//go:embed scripts/complete.lua
	completeLua    string
	completeScript = redis.NewScript(completeLua)
	//go:embed scripts/release.lua
	releaseLua    string
	releaseScript = redis.NewScript(releaseLua)
)

// NewRedisIdempotency returns a store shared by every server using rdb:
// one key per call, prefix + message key, holding "running:<owner>" with
// the lease as its expiry, then "done:<response>" for keep.
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

func (s *redisStore) Claim(ctx context.Context, key, owner string, lease time.Duration) (ClaimResult, []byte, error) {
	v, err := claimScript.Run(ctx, s.rdb, []string{s.prefix + key}, owner, lease.Milliseconds()).Slice()
	if err != nil {
		return 0, nil, fmt.Errorf("asyncrpc: claim %s: %w", key, err)
	}
	res, _ := v[0].(int64)
	if ClaimResult(res) != Completed {
		return ClaimResult(res), nil, nil
	}
	if len(v) < 2 {
		return 0, nil, fmt.Errorf("asyncrpc: claim %s: the script returned %v", key, v)
	}
	stored, _ := v[1].(string)
	return Completed, []byte(stored), nil
}

func (s *redisStore) Renew(ctx context.Context, key, owner string, lease time.Duration) (bool, error) {
	n, err := renewScript.Run(ctx, s.rdb, []string{s.prefix + key}, owner, lease.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("asyncrpc: renew %s: %w", key, err)
	}
	return n == 1, nil
}

func (s *redisStore) Complete(ctx context.Context, key, owner string, response []byte, keep time.Duration) (bool, error) {
	n, err := completeScript.Run(ctx, s.rdb, []string{s.prefix + key}, owner, response, keep.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("asyncrpc: complete %s: %w", key, err)
	}
	return n == 1, nil
}

func (s *redisStore) Release(ctx context.Context, key, owner string) error {
	if err := releaseScript.Run(ctx, s.rdb, []string{s.prefix + key}, owner).Err(); err != nil {
		return fmt.Errorf("asyncrpc: release %s: %w", key, err)
	}
	return nil
}
