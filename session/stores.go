package session

import (
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// This file holds the three stores' structs. The MemoryStore keeps each
// part's state in its own field, defined beside that part's methods:
// sessions (store_sessions*.go), tokens (tokens_store*.go), throttle
// (throttle_store*.go), devices (devices_store*.go). RedisStore and
// PostgresStore keep theirs in keys and tables only.

// MemoryStore is a Store in the process's memory: for tests, examples and
// single-instance development. Nothing survives a restart and nothing is
// shared between processes.
type MemoryStore struct {
	mu       sync.Mutex
	closed   bool
	sessions memSessions
	tokens   memTokens
	throttle memThrottle
	devices  memDevices
}

// RedisStore is a Store in Redis: standalone, Sentinel or Cluster, through
// any redis.UniversalClient. See the package doc's # Keys for its layout.
type RedisStore struct {
	rdb    redis.UniversalClient
	prefix string
	optErr error // the first bad StoreOption: every method returns it
	closed closeFlag
	hints  slideHints // store_sessions_hints.go
}

// PostgresStore is a Store in PostgreSQL, as the primary store or as the
// fallback tier behind Redis (WithFallbackStore). NewPostgresStore creates
// its tables if they do not exist.
type PostgresStore struct {
	pool   *pgxpool.Pool
	closed closeFlag
}
