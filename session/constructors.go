package session

import (
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// StoreOption configures a RedisStore.
type StoreOption func(*RedisStore) error

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// NewRedisStore returns a Store on client (standalone, Sentinel or
// Cluster). The client stays the caller's: Close does not close it.
func NewRedisStore(client redis.UniversalClient, opts ...StoreOption) *RedisStore {
	s := &RedisStore{rdb: client, prefix: "session:"}
	for _, o := range opts {
		if o != nil {
			_ = o(s) // core: decide how a bad StoreOption is reported
		}
	}
	return s
}

// NewPostgresStore returns a Store on pool, creating its tables if they
// do not exist. The pool stays the caller's. Several instances may start
// at once: the tables are made in one transaction under an advisory lock,
// and a start that finds them up to date runs no DDL at all. The work is
// bounded (30 s, and 10 s for any lock); see the package doc's
// # PostgreSQL.
func NewPostgresStore(pool *pgxpool.Pool) (*PostgresStore, error) {
	if pool == nil {
		return nil, fmt.Errorf("%w: nil pool", ErrInvalid)
	}
	var ddls []string
	for _, ddl := range []string{pgSessionsDDL, pgTokensDDL, pgThrottleDDL, pgDevicesDDL} {
		if ddl != "" {
			ddls = append(ddls, ddl)
		}
	}
	if err := pgMigrate(pool, ddls); err != nil {
		return nil, err
	}
	return &PostgresStore{pool: pool}, nil
}
