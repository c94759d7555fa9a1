package privilege

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/jackc/pgx/v5"
)

var _ Watcher = (*PostgresStore)(nil)

// watchers are the callbacks of a store's running Watch calls.
type watchers struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(uint64)
}

func (w *watchers) add(fn func(uint64)) (remove func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fns == nil {
		w.fns = map[int]func(uint64){}
	}
	id := w.next
	w.next++
	w.fns[id] = fn
	return func() {
		w.mu.Lock()
		delete(w.fns, id)
		w.mu.Unlock()
	}
}

func (w *watchers) tell(v uint64) {
	w.mu.Lock()
	fns := make([]func(uint64), 0, len(w.fns))
	for _, fn := range w.fns {
		fns = append(fns, fn)
	}
	w.mu.Unlock()
	for _, fn := range fns {
		fn(v)
	}
}

// Watch implements Watcher. fn is called with the version of every write
// made through this store, before the write returns, and, from a
// connection of its own that LISTENs on ChangeChannel, with the version
// read from the database after each notification (never the payload,
// which any role that can connect may forge). On every (re)connection it
// reads the version again, since announcements made while it was away are
// lost; a lost connection is retried with exponential backoff (up to 10s
// apart).
// It returns nil when ctx ends, ErrClosed on a closed store.
func (s *PostgresStore) Watch(ctx context.Context, fn func(version uint64)) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if fn == nil {
		return wrapOp("postgres: watch", fmt.Errorf("%w: nil func", ErrInvalid))
	}
	defer s.watchers.add(fn)()
	b := backoff.NewExponentialBackOff()
	b.MaxInterval = 10 * time.Second
	b.MaxElapsedTime = 0 // never gives up: the engine relies on reads meanwhile
	for {
		if s.closed.Load() {
			return ErrClosed
		}
		listened := s.listen(ctx, fn)
		if ctx.Err() != nil {
			return nil
		}
		if listened {
			b.Reset()
		}
		s.hookWatch(ctx, "lost")
		t := time.NewTimer(b.NextBackOff())
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

func (s *PostgresStore) hookWatch(ctx context.Context, event string) {
	if h := s.watchHook; h != nil {
		h(ctx, event)
	}
}

// listen holds one LISTEN connection until it fails or ctx ends; it
// reports whether it got as far as listening.
func (s *PostgresStore) listen(ctx context.Context, fn func(uint64)) bool {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return false
	}
	// Out of the pool: this connection is ours for as long as it lives.
	conn := pc.Hijack()
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = conn.Close(cctx)
		cancel()
	}()
	if _, err := conn.Exec(ctx, "SET application_name = 'privilege_watch'; LISTEN "+pgx.Identifier{ChangeChannel}.Sanitize()); err != nil {
		return false
	}
	// Read after LISTEN: a write committed before the read is in it, one
	// after is announced.
	var v uint64
	if err := conn.QueryRow(ctx, `SELECT version FROM privilege_version WHERE id = 1`).Scan(&v); err != nil {
		return false
	}
	fn(v)
	s.hookWatch(ctx, "listening")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true
		}
		if n.Channel != ChangeChannel {
			continue
		}
		// The version is read, not taken from the payload: any role that
		// can connect may NOTIFY any text on the channel, and a version the
		// store never reached would pin every engine above the real ones.
		if err := conn.QueryRow(ctx, `SELECT version FROM privilege_version WHERE id = 1`).Scan(&v); err != nil {
			return true
		}
		fn(v)
	}
}
