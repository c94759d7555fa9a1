package localstore

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// stat returns the file of name, which must be a regular file.
func (b *bucket) stat(name string) (fs.FileInfo, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	info, err := os.Stat(b.path(name))
	if err != nil {
		return nil, mapErr(name, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%q: %w (a directory, not an object)", name, fs.ErrNotExist)
	}
	return info, nil
}

func (b *bucket) Attributes(_ context.Context, name string) (*driver.Attributes, error) {
	info, err := b.stat(name)
	if err != nil {
		return nil, err
	}
	return b.attributes(name, info), nil
}

type reader struct {
	*io.SectionReader
	f     *os.File
	attrs *driver.Attributes
}

func (r *reader) Close() error                   { return r.f.Close() }
func (r *reader) Attributes() *driver.Attributes { return r.attrs }

func (b *bucket) NewRangeReader(_ context.Context, name string, off, n int64) (driver.Reader, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	f, err := os.Open(b.path(name))
	if err != nil {
		return nil, mapErr(name, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%q: %w (a directory, not an object)", name, fs.ErrNotExist)
	}
	size := info.Size()
	off = min(off, size)
	if n < 0 || off+n > size {
		n = size - off
	}
	return &reader{SectionReader: io.NewSectionReader(f, off, n), f: f, attrs: b.attributes(name, info)}, nil
}
