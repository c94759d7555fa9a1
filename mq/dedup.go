package mq

import (
	"context"
	"fmt"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"
)

// DedupStore remembers which message IDs a consumer group handled
// successfully. With WithDedup, a subscription asks Seen before running the
// handler and calls MarkDone after it succeeded. A store error is logged
// and the message handled anyway: at-least-once wins over exactly-once.
type DedupStore interface {
	// Seen reports whether group already handled id.
	Seen(ctx context.Context, group, id string) (bool, error)
	// MarkDone records that group handled id.
	MarkDone(ctx context.Context, group, id string) error
}

// MemoryDedup is a DedupStore in process memory, bounded by an LRU. It
// only dedups what this process handled.
type MemoryDedup struct {
	c *lru.Cache[string, struct{}]
}

// NewMemoryDedup returns a store remembering the last size IDs.
func NewMemoryDedup(size int) (*MemoryDedup, error) {
	if size < 1 {
		return nil, fmt.Errorf("%w: NewMemoryDedup(%d): size must be positive", ErrInvalid, size)
	}
	c, err := lru.New[string, struct{}](size)
	if err != nil {
		return nil, err
	}
	return &MemoryDedup{c: c}, nil
}

func dedupKey(group, id string) string { return group + "\x00" + id }

// Seen implements DedupStore.
func (m *MemoryDedup) Seen(_ context.Context, group, id string) (bool, error) {
	return m.c.Contains(dedupKey(group, id)), nil
}

// MarkDone implements DedupStore.
func (m *MemoryDedup) MarkDone(_ context.Context, group, id string) error {
	m.c.Add(dedupKey(group, id), struct{}{})
	return nil
}

// RedisDedup is a DedupStore in Redis, shared by every member of a group:
// one key per handled message, "<prefix><group>:<id>", set with SET NX PX
// and expiring after the TTL.
type RedisDedup struct {
	rdb    redis.UniversalClient
	ttl    time.Duration
	prefix string
}

// NewRedisDedup returns a store in rdb whose entries live for ttl. Keys
// start with prefix ("mq:dedup:" when empty).
func NewRedisDedup(rdb redis.UniversalClient, ttl time.Duration, prefix string) (*RedisDedup, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: NewRedisDedup: nil client", ErrInvalid)
	}
	if ttl < time.Millisecond {
		return nil, fmt.Errorf("%w: NewRedisDedup: ttl %v is below 1ms", ErrInvalid, ttl)
	}
	if prefix == "" {
		prefix = "mq:dedup:"
	}
	return &RedisDedup{rdb: rdb, ttl: ttl, prefix: prefix}, nil
}

func (r *RedisDedup) key(group, id string) string { return r.prefix + group + ":" + id }

// Seen implements DedupStore.
func (r *RedisDedup) Seen(ctx context.Context, group, id string) (bool, error) {
	n, err := r.rdb.Exists(ctx, r.key(group, id)).Result()
	if err != nil {
		return false, fmt.Errorf("mq: dedup lookup: %w", err)
	}
	return n == 1, nil
}

// MarkDone implements DedupStore. The first mark wins; a later one (a
// duplicate that raced past Seen) keeps the original expiry.
func (r *RedisDedup) MarkDone(ctx context.Context, group, id string) error {
	if err := r.rdb.SetNX(ctx, r.key(group, id), 1, r.ttl).Err(); err != nil {
		return fmt.Errorf("mq: dedup mark: %w", err)
	}
	return nil
}
