package filestore

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

var (
	driversMu sync.RWMutex
	drivers   = map[string]driver.Driver{}
)

// Register makes a backend available under scheme. It is called from a
// backend's init function; registering a scheme twice, or a nil driver,
// panics, as with database/sql.
func Register(scheme string, d driver.Driver) {
	driversMu.Lock()
	defer driversMu.Unlock()
	if d == nil {
		panic("filestore: Register driver is nil")
	}
	if _, dup := drivers[scheme]; dup {
		panic("filestore: Register called twice for scheme " + scheme)
	}
	drivers[scheme] = d
}

// Schemes returns the registered URL schemes, sorted.
func Schemes() []string {
	driversMu.RLock()
	defer driversMu.RUnlock()
	return slices.Sorted(func(yield func(string) bool) {
		for k := range drivers {
			if !yield(k) {
				return
			}
		}
	})
}

// Open opens the store named by rawURL, whose scheme selects the backend
// (import the backend's package for its side effect to register it):
// file:///dir, mem://, s3://bucket?endpoint=...&region=...&path_style=true,
// nfs://host/export/dir. Each backend's package doc lists its parameters.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	if u.Scheme == "" {
		return nil, fmt.Errorf("%w: %q has no scheme (want e.g. file:///dir, mem://, s3://bucket)", ErrBadURL, rawURL)
	}
	driversMu.RLock()
	d, ok := drivers[u.Scheme]
	driversMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: no backend for scheme %q (registered: %s; forgotten import?)",
			ErrBadURL, u.Scheme, strings.Join(Schemes(), ", "))
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	b, err := d.Open(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("filestore: open %s: %w", u.Redacted(), err)
	}
	return newStore(b, u.Scheme, o), nil
}
