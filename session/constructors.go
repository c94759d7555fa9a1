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
// Cluster). The client stays the caller's: Close does not close it. A bad
// option (or a nil client) makes every method return an error naming it.
func NewRedisStore(client redis.UniversalClient, opts ...StoreOption) *RedisStore {
	s := &RedisStore{rdb: client, prefix: "session:"}
	if client == nil {
		s.optErr = fmt.Errorf("%w: nil redis client", ErrInvalid)
	}
	for _, o := range opts {
		// A bad option cannot fail a constructor that returns no error:
		// it is kept, and every method of the store returns it.
		err := fmt.Errorf("%w: nil StoreOption", ErrInvalid)
		if o != nil {
			err = o(s)
		}
		if err != nil && s.optErr == nil {
			s.optErr = err
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
