package session

// SCAFFOLD — delete when the parts are joined. The core part owns
// SessionStore and MemoryStore/RedisStore.Close; these no-op stand-ins
// exist only so that the remember-me branch's tests can build a Store and
// a Manager before the core is merged. They are test files, so no
// non-test build sees them, and the integrator's build fails loudly
// (duplicate methods) until this file is removed.

import (
	"context"
	"time"
)

func (s *MemoryStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *RedisStore) Close() error { s.closed.close(); return nil }

func (s *MemoryStore) CreateSession(context.Context, *Record) error { return nil }
func (s *MemoryStore) LoadSession(context.Context, Ref, time.Time) (*Record, error) {
	return nil, ErrNoSession
}
func (s *MemoryStore) UpdateSession(context.Context, Ref, map[string]string, []string) error {
	return nil
}
func (s *MemoryStore) RenewSession(context.Context, Ref, *Record) error            { return nil }
func (s *MemoryStore) DeleteSession(context.Context, Ref) error                    { return nil }
func (s *MemoryStore) DeleteUserSessions(context.Context, string) (int, error)     { return 0, nil }
func (s *MemoryStore) ListUserSessions(context.Context, string) ([]*Record, error) { return nil, nil }

func (s *RedisStore) CreateSession(context.Context, *Record) error { return nil }
func (s *RedisStore) LoadSession(context.Context, Ref, time.Time) (*Record, error) {
	return nil, ErrNoSession
}
func (s *RedisStore) UpdateSession(context.Context, Ref, map[string]string, []string) error {
	return nil
}
func (s *RedisStore) RenewSession(context.Context, Ref, *Record) error            { return nil }
func (s *RedisStore) DeleteSession(context.Context, Ref) error                    { return nil }
func (s *RedisStore) DeleteUserSessions(context.Context, string) (int, error)     { return 0, nil }
func (s *RedisStore) ListUserSessions(context.Context, string) ([]*Record, error) { return nil, nil }

func (s *PostgresStore) CreateSession(context.Context, *Record) error { return nil }
func (s *PostgresStore) LoadSession(context.Context, Ref, time.Time) (*Record, error) {
	return nil, ErrNoSession
}
func (s *PostgresStore) UpdateSession(context.Context, Ref, map[string]string, []string) error {
	return nil
}
func (s *PostgresStore) RenewSession(context.Context, Ref, *Record) error            { return nil }
func (s *PostgresStore) DeleteSession(context.Context, Ref) error                    { return nil }
func (s *PostgresStore) DeleteUserSessions(context.Context, string) (int, error)     { return 0, nil }
func (s *PostgresStore) ListUserSessions(context.Context, string) ([]*Record, error) { return nil, nil }
