package localstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"syscall"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

func (b *bucket) NewWriter(ctx context.Context, name string, opts *driver.WriterOptions) (driver.Writer, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(b.tmp, "put-*")
	if err != nil {
		return nil, err
	}
	return &writer{ctx: ctx, b: b, name: name, opts: opts, f: f}, nil
}

type writer struct {
	ctx  context.Context
	b    *bucket
	name string
	opts *driver.WriterOptions
	f    *os.File
	done bool
}

func (w *writer) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return w.f.Write(p)
}

func (w *writer) Commit(sum []byte) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if err := w.b.closeFile(w.f); err != nil {
		return err
	}
	w.done = true
	defer os.Remove(w.f.Name()) // after link(2), or if anything failed
	return w.b.commit(w.f.Name(), w.name, w.opts.IfNotExist, sum, w.opts.ContentType, w.opts.Metadata)
}

func (w *writer) Abort() error {
	if !w.done {
		w.done = true
		w.f.Close()
	}
	return os.Remove(w.f.Name())
}

// commit moves the finished temporary file tmp to name — rename(2), or
// link(2) with ifNotExist — then stores its attributes.
func (b *bucket) commit(tmp, name string, ifNotExist bool, sum []byte, contentType string, meta map[string]string) error {
	info, err := os.Stat(tmp)
	if err != nil {
		return err
	}
	data, err := encodeAttrs(info, sum, contentType, maps.Clone(meta))
	if err != nil {
		return err
	}
	inXattr := b.setXattr(tmp, data)
	unlock := b.lock(name)
	defer unlock()
	dst := b.path(name)
	if err := b.place(tmp, dst, ifNotExist); err != nil {
		return inTheWay(name, err)
	}
	if err := b.syncDir(filepath.Dir(dst)); err != nil {
		return err
	}
	if inXattr {
		_ = os.Remove(b.attrsPath(name)) // an older version's, if it had one
		return nil
	}
	return b.writeAttrs(name, data)
}

// place puts tmp at dst, creating dst's directories; a concurrent Delete
// may remove an emptied directory between the two, hence the retries.
func (b *bucket) place(tmp, dst string, ifNotExist bool) error {
	var err error
	for range 5 {
		if err = os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if ifNotExist {
			err = os.Link(tmp, dst)
		} else {
			err = os.Rename(tmp, dst)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return err
}

// inTheWay explains the errors of placing a file where a directory is, or
// under a file.
func inTheWay(name string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.EEXIST:
			return fmt.Errorf("%q: %w", name, fs.ErrExist)
		case syscall.EISDIR, syscall.ENOTEMPTY:
			return fmt.Errorf("%q: %w: objects exist under %q/ (on disk a name cannot be a file and a directory)", name, fs.ErrExist, name)
		case syscall.ENOTDIR:
			return fmt.Errorf("%q: %w: a parent of it is an object (on disk a name cannot be a file and a directory)", name, fs.ErrExist)
		}
	}
	return err
}
