package filestore

import (
	"context"
	"fmt"

	"github.com/groundwork-go/groundwork/filestore/driver"
	"github.com/groundwork-go/groundwork/internal/registry"
)

var drivers = registry.New[driver.Driver]("filestore", "file:///dir, mem://, s3://bucket")

// Register makes a backend available under scheme. It is called from a
// backend's init function; registering a scheme twice, or a nil driver,
// panics, as with database/sql.
func Register(scheme string, d driver.Driver) { drivers.Register(scheme, d) }

// Schemes returns the registered URL schemes, sorted.
func Schemes() []string { return drivers.Schemes() }

// Open opens the store named by rawURL, whose scheme selects the backend
// (import the backend's package for its side effect to register it):
// file:///dir, mem://, s3://bucket?endpoint=...&region=...&path_style=true,
// nfs://host/export/dir. Each backend's package doc lists its parameters.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	u, d, err := drivers.Lookup(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("filestore: open %s: %w", registry.Redacted(u), err)
	}
	b, err := d.Open(ctx, u)
	if err != nil {
		return nil, opError(ctx, err, "filestore: open %s", registry.Redacted(u))
	}
	return newStore(b, u.Scheme, o), nil
}
