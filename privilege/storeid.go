package privilege

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// Identified is a Store with an identity: an id no other store has. An
// Engine with WithRedis reads it once, at NewEngine, and puts it in its
// Redis keys and channel, so that engines on different stores sharing a
// Redis and prefix can neither serve each other's decisions nor wake each
// other (versions of different stores count alike: 1, 2, 3...). Both
// stores of this package are Identified: a PostgresStore's id is made
// once per database (by Migrate, kept in privilege_store), a
// MemoryStore's once per instance. A store that is not keeps the keys
// without an id (then, one prefix per store).
//
// StoreID is called from NewEngine, which takes no context: it should
// answer from memory. The id is 1 to 128 bytes without spaces or line
// breaks.
type Identified interface {
	StoreID(ctx context.Context) (string, error)
}

// StoreID returns the database's id, read when the store was made.
func (s *PostgresStore) StoreID(context.Context) (string, error) { return s.id, nil }

// StoreID returns the id this MemoryStore was given when made.
func (s *MemoryStore) StoreID(context.Context) (string, error) { return s.id, nil }

// randomID is 128 random bits in hex.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// readStoreID reads the id of the database; Migrate made it.
func (s *PostgresStore) readStoreID(ctx context.Context) error {
	if err := s.pool.QueryRow(ctx, `SELECT id FROM privilege_store`).Scan(&s.id); err != nil {
		return pgError(ctx, "read store id", err)
	}
	return checkStoreID(s.id)
}

// storeID returns store's id, or "" when it has none.
func storeID(store Store) (string, error) {
	st, ok := store.(Identified)
	if !ok {
		return "", nil
	}
	id, err := st.StoreID(context.Background())
	if err != nil {
		return "", fmt.Errorf("store id: %w", err)
	}
	return id, checkStoreID(id)
}

func checkStoreID(id string) error {
	if id == "" || len(id) > 128 || strings.ContainsAny(id, " \t\r\n") {
		return fmt.Errorf("%w: store id %q: want 1 to 128 bytes, no spaces", ErrInvalid, id)
	}
	return nil
}
