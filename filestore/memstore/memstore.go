// Package memstore is the in-process filestore backend, scheme mem://: for
// tests, examples and the tour. Objects live in the process's memory and
// go with it.
//
// # URLs
//
// mem:// (or mem://<name>): each Open makes a new, empty store; the host
// part is a label only. No query parameters.
//
// # Guarantees
//
// Put, Rename and Copy are atomic; a reader sees the content it opened
// even if the object is replaced meanwhile.
//
// # As
//
// Nothing: there is no native client.
package memstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/driver"
	"github.com/groundwork-go/groundwork/internal/registry"
)

// Scheme is the URL scheme memstore registers.
const Scheme = "mem"

func init() { filestore.Register(Scheme, memDriver{}) }

type memDriver struct{}

func (memDriver) Open(_ context.Context, u *url.URL) (driver.Bucket, error) {
	if len(u.Query()) > 0 || u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("%w: mem:// takes no path or parameters, got %q", driver.ErrBadURL, registry.Redacted(u))
	}
	return New(), nil
}

// New returns an empty in-memory backend; filestore.NewStore wraps it.
func New() driver.Bucket { return &bucket{objects: map[string]*object{}} }

type object struct {
	data  []byte
	attrs driver.Attributes
}

type bucket struct {
	mu      sync.RWMutex
	objects map[string]*object
	names   []string // sorted; nil when it must be rebuilt
}

var (
	_ driver.Bucket  = (*bucket)(nil)
	_ driver.Renamer = (*bucket)(nil)
)

func notExist(name string) error { return fmt.Errorf("%q: %w", name, fs.ErrNotExist) }

func (b *bucket) get(name string) (*object, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	o, ok := b.objects[name]
	if !ok {
		return nil, notExist(name)
	}
	return o, nil
}

func (b *bucket) set(name string, o *object, ifNotExist bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.objects[name]; !ok {
		b.names = nil
	} else if ifNotExist {
		return fmt.Errorf("%q: %w", name, fs.ErrExist)
	}
	b.objects[name] = o
	return nil
}

func (b *bucket) NewWriter(ctx context.Context, name string, opts *driver.WriterOptions) (driver.Writer, error) {
	return &writer{ctx: ctx, b: b, name: name, opts: opts}, nil
}

type writer struct {
	ctx  context.Context
	b    *bucket
	name string
	opts *driver.WriterOptions
	buf  bytes.Buffer
}

func (w *writer) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return w.buf.Write(p)
}

func (w *writer) Commit(sum []byte) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	data := w.buf.Bytes()
	return w.b.set(w.name, &object{data: data, attrs: driver.Attributes{Size: int64(len(data)), ModTime: time.Now(),
		SHA256: slices.Clone(sum), ContentType: w.opts.ContentType, Metadata: maps.Clone(w.opts.Metadata)}}, w.opts.IfNotExist)
}

func (w *writer) Abort() error { w.buf.Reset(); return nil }

type reader struct {
	*io.SectionReader
	attrs *driver.Attributes
}

func (r reader) Close() error                   { return nil }
func (r reader) Attributes() *driver.Attributes { return r.attrs }

func (b *bucket) NewRangeReader(_ context.Context, name string, off, n int64) (driver.Reader, error) {
	o, err := b.get(name)
	if err != nil {
		return nil, err
	}
	size := int64(len(o.data))
	off = min(off, size)
	if n < 0 || off+n > size {
		n = size - off
	}
	return reader{io.NewSectionReader(bytes.NewReader(o.data), off, n), copyAttrs(&o.attrs)}, nil
}

func copyAttrs(a *driver.Attributes) *driver.Attributes {
	c := *a
	c.Metadata = maps.Clone(a.Metadata)
	c.SHA256 = slices.Clone(a.SHA256)
	return &c
}

func (b *bucket) Attributes(_ context.Context, name string) (*driver.Attributes, error) {
	o, err := b.get(name)
	if err != nil {
		return nil, err
	}
	return copyAttrs(&o.attrs), nil
}

func (b *bucket) List(_ context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	b.mu.Lock()
	if b.names == nil {
		b.names = slices.Sorted(maps.Keys(b.objects))
	}
	names := b.names
	defer b.mu.Unlock()
	return driver.Fold(names, opts, func(name string) *driver.Attributes { return copyAttrs(&b.objects[name].attrs) }), nil
}

func (b *bucket) Delete(_ context.Context, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.objects[name]; !ok {
		return notExist(name)
	}
	delete(b.objects, name)
	b.names = nil
	return nil
}

func (b *bucket) Copy(_ context.Context, dst, src string) error {
	o, err := b.get(src)
	if err != nil {
		return err
	}
	c := &object{data: o.data, attrs: *copyAttrs(&o.attrs)}
	c.attrs.ModTime = time.Now()
	return b.set(dst, c, false)
}

func (b *bucket) Rename(_ context.Context, from, to string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objects[from]
	if !ok {
		return notExist(from)
	}
	delete(b.objects, from)
	b.objects[to] = o
	b.names = nil
	return nil
}

func (b *bucket) Close() error { return nil }
