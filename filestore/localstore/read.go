package localstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// stat returns the file of name, which must be a regular file (a
// symbolic link is followed while it stays inside the root, and out of
// the reserved directory).
func (b *bucket) stat(name string) (fs.FileInfo, error) {
	if err := b.checkNames(name); err != nil {
		return nil, err
	}
	info, err := b.root.Stat(rel(name))
	if err != nil {
		return nil, b.mapErr(name, err)
	}
	if !info.Mode().IsRegular() {
		return nil, notObject(name)
	}
	return info, nil
}

// openObject opens the file of name for reading, through the root; it
// must be a regular file (see stat).
func (b *bucket) openObject(name string) (*os.File, fs.FileInfo, error) {
	if err := b.checkNames(name); err != nil {
		return nil, nil, err
	}
	return b.openFile(name)
}

// openFile opens the file of name, which must be a regular file. The open
// does not block (O_NONBLOCK where the platform has it): another program
// may have left a FIFO under the name, and opening one for reading would
// wait for a writer. A socket cannot be opened (ENXIO; EOPNOTSUPP on
// BSDs): it is no object either.
func (b *bucket) openFile(name string) (*os.File, fs.FileInfo, error) {
	f, err := b.root.OpenFile(rel(name), os.O_RDONLY|oNonblock, 0)
	if errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.EOPNOTSUPP) {
		return nil, nil, notObject(name)
	}
	if err != nil {
		return nil, nil, b.mapErr(name, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, nil, notObject(name)
	}
	return f, info, nil
}

// notObject is the error of a name that is a directory (or a FIFO, a
// device...) rather than a regular file.
func notObject(name string) error {
	return fmt.Errorf("%q: %w (a directory, or another file that is not a regular one: not an object)", name, fs.ErrNotExist)
}

func (b *bucket) Attributes(_ context.Context, name string) (*driver.Attributes, error) {
	f, info, err := b.openObject(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return b.attributes(name, f, info), nil
}

type reader struct {
	*io.SectionReader
	f     *os.File
	attrs *driver.Attributes
}

func (r *reader) Close() error                   { return r.f.Close() }
func (r *reader) Attributes() *driver.Attributes { return r.attrs }

func (b *bucket) NewRangeReader(_ context.Context, name string, off, n int64) (driver.Reader, error) {
	f, info, err := b.openObject(name)
	if err != nil {
		return nil, err
	}
	size := info.Size()
	off = min(off, size)
	if n < 0 || off+n > size {
		n = size - off
	}
	return &reader{SectionReader: io.NewSectionReader(f, off, n), f: f, attrs: b.attributes(name, f, info)}, nil
}
