package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// Info describes a stored object.
type Info struct {
	Name    string
	Size    int64
	ModTime time.Time
	// SHA256 is the content's digest: computed by Put while streaming, nil
	// for objects written by other tools that the backend knows no digest
	// for.
	SHA256      []byte
	ContentType string
	Metadata    map[string]string
}

// PutOptions configure one Put; nil means all defaults.
type PutOptions struct {
	ContentType string
	// Metadata keys are case-insensitive (stored lower-case, as S3 does)
	// and made of letters, digits, '-' and '_'; values are UTF-8.
	Metadata map[string]string
	// IfNotExist makes Put fail with fs.ErrExist, storing nothing, if the
	// name exists.
	IfNotExist bool
	// SHA256, when set, is the digest the content must have: otherwise
	// Put fails with ErrDigestMismatch and nothing becomes visible.
	SHA256 []byte
	// Size, when > 0, is the content's length: otherwise Put fails with
	// ErrSizeMismatch and nothing becomes visible. Backends use it to
	// choose how to upload.
	Size int64
}

// Store is one storage backend behind a portable API. It is safe for
// concurrent use.
type Store struct {
	b      driver.Bucket
	scheme string
	o      options
	bufs   sync.Pool
	closed atomic.Bool
	// mu guards writers: the Writers open, which keep the backend open
	// after Close so that they can still discard what they wrote; the
	// last of them closes it.
	mu      sync.Mutex
	writers int
}

// NewStore wraps a backend, for backends built with their package's own
// constructor (localstore.New, s3store.New, ...) rather than Open.
func NewStore(b driver.Bucket, opts ...Option) (*Store, error) {
	if b == nil {
		return nil, fmt.Errorf("filestore: NewStore: %w: nil bucket", fs.ErrInvalid)
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("filestore: NewStore: %w", err)
	}
	return newStore(b, fmt.Sprintf("%T", b), o), nil
}

func newStore(b driver.Bucket, scheme string, o options) *Store {
	s := &Store{b: b, scheme: scheme, o: o}
	s.bufs.New = func() any { b := make([]byte, o.bufferSize); return &b }
	return s
}

func (s *Store) check(op string, names ...string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	for _, n := range names {
		if err := ValidName(n); err != nil {
			return fmt.Errorf("filestore: %s: %w", op, err)
		}
	}
	return nil
}

// wrap adds the operation, name and backend to a backend's error, leaving
// context errors and io.EOF as they are.
func (s *Store) wrap(op, name string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || err == io.EOF {
		return err
	}
	return &wrapped{what: fmt.Sprintf("filestore: %s %q (%s)", op, name, s.scheme), err: err, name: name, store: true}
}

// wrap2 is wrap for an operation on two names (from and to).
func (s *Store) wrap2(op, from, to string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &wrapped{what: fmt.Sprintf("filestore: %s %q to %q (%s)", op, from, to, s.scheme), err: err, store: true}
}

// Put stores what r yields under name, streaming it through a fixed-size
// buffer, and returns the stored object's Info with its SHA-256. Nothing
// is visible under name until the whole content is stored: a failed or
// cancelled Put leaves the name as it was.
func (s *Store) Put(ctx context.Context, name string, r io.Reader, opts *PutOptions) (*Info, error) {
	info, err := s.put(ctx, name, r, opts)
	if err != nil {
		return nil, err
	}
	return info, nil
}

// put is Put, which also returns the Info of what it streamed when only
// the commit failed: the Service compares that digest with an object
// found under the name (IfNotExist's fs.ErrExist after a lost answer).
func (s *Store) put(ctx context.Context, name string, r io.Reader, opts *PutOptions) (*Info, error) {
	w, err := s.newWriter(ctx, "put", name, opts)
	if err != nil {
		return nil, err
	}
	_, _ = w.ReadFrom(r) // an error fails w: close discards and returns it
	return w.close()
}

// Stat returns name's Info.
func (s *Store) Stat(ctx context.Context, name string) (*Info, error) {
	if err := s.check("stat", name); err != nil {
		return nil, err
	}
	a, err := s.b.Attributes(ctx, name)
	if err != nil {
		return nil, s.wrap("stat", name, err)
	}
	return infoOf(name, a), nil
}

func infoOf(name string, a *driver.Attributes) *Info {
	return &Info{Name: name, Size: a.Size, ModTime: a.ModTime, SHA256: a.SHA256, ContentType: a.ContentType, Metadata: a.Metadata}
}

// OpenRange reads n bytes of name from offset off (n < 0: to the end).
func (s *Store) OpenRange(ctx context.Context, name string, off, n int64) (io.ReadCloser, error) {
	if err := s.check("open", name); err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("filestore: open %q: %w: negative offset %d", name, fs.ErrInvalid, off)
	}
	r, err := s.b.NewRangeReader(ctx, name, off, n)
	if err != nil {
		return nil, s.wrap("open", name, err)
	}
	return r, nil
}

// List yields the objects whose names start with prefix, in lexicographic
// order, asking the backend for a page at a time. An error ends the
// sequence.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[*Info, error] {
	return func(yield func(*Info, error) bool) {
		if s.closed.Load() {
			yield(nil, ErrClosed)
			return
		}
		after := ""
		for {
			page, err := s.b.List(ctx, &driver.ListOptions{Prefix: prefix, After: after, PageSize: s.o.pageSize})
			if err != nil {
				yield(nil, s.wrap("list", prefix, err))
				return
			}
			for _, e := range page.Entries {
				if !yield(infoOf(e.Name, e.Attributes), nil) {
					return
				}
				after = e.Name
			}
			if !page.More || len(page.Entries) == 0 {
				return
			}
		}
	}
}

// Delete removes name.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := s.check("delete", name); err != nil {
		return err
	}
	return s.wrap("delete", name, s.b.Delete(ctx, name))
}

// Rename moves from to to, replacing to. Atomic where the backend renames
// (local disk, NFS); elsewhere (S3) it is a Copy then a Delete, so a crash
// between them leaves both.
func (s *Store) Rename(ctx context.Context, from, to string) error {
	if err := s.check("rename", from, to); err != nil {
		return err
	}
	if from == to {
		_, err := s.Stat(ctx, from)
		return err
	}
	if rn, ok := s.b.(driver.Renamer); ok {
		return s.wrap2("rename", from, to, rn.Rename(ctx, from, to))
	}
	if err := s.b.Copy(ctx, to, from); err != nil {
		return s.wrap2("rename", from, to, err)
	}
	return s.wrap2("rename", from, to, s.b.Delete(ctx, from))
}

// Copy copies from to to, attributes included, replacing to.
func (s *Store) Copy(ctx context.Context, from, to string) error {
	if err := s.check("copy", from, to); err != nil {
		return err
	}
	if from == to {
		_, err := s.Stat(ctx, from)
		return err
	}
	return s.wrap2("copy", from, to, s.b.Copy(ctx, to, from))
}

// As sets target to the backend's native client if target points to its
// type (each backend's package doc lists them) and reports whether it did.
func (s *Store) As(target any) bool {
	a, ok := s.b.(driver.Aser)
	return ok && a.As(target)
}

// Close releases the backend. It is idempotent; afterwards every method
// returns ErrClosed, and so does the Close of a Writer still open, which
// discards what it wrote: the backend is released once the last such
// Writer is closed (one never closed keeps it).
func (s *Store) Close() error {
	s.mu.Lock()
	already, open := s.closed.Swap(true), s.writers
	s.mu.Unlock()
	if already || open > 0 {
		return nil
	}
	return s.b.Close()
}

// hold counts a Writer in, unless the store is closed.
func (s *Store) hold() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	s.writers++
	return nil
}

// release counts a Writer out, closing the backend after the last one
// if the store was closed meanwhile.
func (s *Store) release() {
	s.mu.Lock()
	s.writers--
	last := s.writers == 0 && s.closed.Load()
	s.mu.Unlock()
	if last {
		_ = s.b.Close() // Close returned already: nobody to tell
	}
}

// IsRetryable reports whether err, from this store, is a failure a later
// attempt may not meet (the network, a busy server), as the backend
// classifies it; false when the backend does not say.
func (s *Store) IsRetryable(err error) bool {
	r, ok := s.b.(driver.Retryer)
	return ok && err != nil && r.IsRetryable(err)
}
