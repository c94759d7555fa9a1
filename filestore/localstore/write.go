package localstore

import (
	"context"
	"crypto/rand"
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
	f, tmp, err := b.createTemp("put-")
	if err != nil {
		return nil, err
	}
	return &writer{ctx: ctx, b: b, name: name, opts: opts, f: f, tmp: tmp}, nil
}

// createTemp creates a new file in .filestore/tmp, through the root, and
// returns it with its path relative to the root. The directory is made
// again if another program removed it.
func (b *bucket) createTemp(prefix string) (*os.File, string, error) {
	name := filepath.Join(tmpDir, prefix+rand.Text())
	f, err := b.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		if err = b.root.MkdirAll(tmpDir, 0o755); err == nil {
			f, err = b.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		}
	}
	if err != nil {
		return nil, "", b.mapErr(filepath.ToSlash(name), err)
	}
	return f, name, nil
}

type writer struct {
	ctx  context.Context
	b    *bucket
	name string
	opts *driver.WriterOptions
	f    *os.File
	tmp  string // f's path, relative to the root
	done bool   // f is closed
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
	w.done = true
	defer w.b.root.Remove(w.tmp) // after link(2), or if anything failed
	return w.b.commit(w.f, w.tmp, w.name, w.opts.IfNotExist, sum, w.opts.ContentType, w.opts.Metadata)
}

func (w *writer) Abort() error {
	if !w.done {
		w.done = true
		w.f.Close()
	}
	return w.b.root.Remove(w.tmp)
}

// commit stores the attributes on the finished temporary file f (at tmp,
// relative to the root), fsyncs and closes it, and moves it to name —
// rename(2), or link(2) with ifNotExist — then stores the attributes
// beside the tree if the file system could not take them.
func (b *bucket) commit(f *os.File, tmp, name string, ifNotExist bool, sum []byte, contentType string, meta map[string]string) error {
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	data, err := encodeAttrs(info, sum, contentType, maps.Clone(meta))
	if err != nil {
		f.Close()
		return err
	}
	// On the open file, not its path: no link put in its place can
	// redirect them; and before the fsync, so that they are as durable.
	inXattr := b.setXattr(f, data)
	if err := b.closeFile(f); err != nil {
		return err
	}
	unlock := b.lock(name)
	defer unlock()
	if err := b.place(tmp, rel(name), ifNotExist); err != nil {
		return b.inTheWay(name, err)
	}
	if err := b.syncDir(filepath.Dir(rel(name))); err != nil {
		return b.mapErr(name, err)
	}
	if inXattr {
		_ = b.root.Remove(attrsRel(name)) // an older version's, if it had one
		return nil
	}
	return b.writeAttrs(name, data)
}

// testHook, set by tests, runs before a step that a link swapped in
// meanwhile could redirect: op is "place" or "delete", name the object's.
var testHook func(op, name string)

// place puts tmp at dst (both relative to the root), creating dst's
// directories; a concurrent Delete may remove an emptied directory
// between the two, hence the retries. Each step resolves its names anew
// through the root, so a link swapped in between cannot lead outside.
func (b *bucket) place(tmp, dst string, ifNotExist bool) error {
	var err error
	for range 5 {
		if err = b.root.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if testHook != nil {
			testHook("place", filepath.ToSlash(dst))
		}
		if ifNotExist {
			err = b.root.Link(tmp, dst)
		} else {
			err = b.root.Rename(tmp, dst)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return err
}

// inTheWay explains the errors of placing a file where a directory is, or
// under a file, or through a link that leads out of the root.
func (b *bucket) inTheWay(name string, err error) error {
	if errors.Is(err, b.escapes) {
		return b.escaped(name)
	}
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
