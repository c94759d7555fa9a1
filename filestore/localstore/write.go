package localstore

import (
	"context"
	"encoding/json"
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
	if err := checkAttrsSize(opts.ContentType, opts.Metadata); err != nil {
		return nil, err
	}
	f, tmp, err := b.createTemp("put-")
	if err != nil {
		return nil, err
	}
	return &writer{ctx: ctx, b: b, name: name, opts: opts, f: f, tmp: tmp}, nil
}

type writer struct {
	ctx  context.Context
	b    *bucket
	name string
	opts *driver.WriterOptions
	f    *os.File
	tmp  string // f's name in the temporary directory
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
	defer w.b.removeTemp(w.tmp) // after link(2), or if anything failed
	return w.b.commit(w.f, w.tmp, w.name, w.opts.IfNotExist, sum, w.opts.ContentType, w.opts.Metadata)
}

func (w *writer) Abort() error {
	if !w.done {
		w.done = true
		w.f.Close()
	}
	return w.b.removeTemp(w.tmp)
}

// commit stores the attributes of the finished temporary file f (named
// tmp in the temporary directory), fsyncs and closes it, and moves it to
// name: rename(2), or link(2) with ifNotExist.
//
// The attributes go on the file itself (its extended attribute, set by
// descriptor before the fsync) or, where the file system takes none, to
// the attributes file before the move: either way they are durable before
// the object appears, and nothing after the move can fail the Put but the
// fsync of the directory. A Put that fails therefore leaves the name, and
// its attributes, as they were.
func (b *bucket) commit(f *os.File, tmp, name string, ifNotExist bool, sum []byte, contentType string, meta map[string]string) error {
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	rec := newRecord(info, sum, contentType, maps.Clone(meta))
	data, err := json.Marshal(rec)
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
	fresh := false
	if !inXattr {
		if fresh, err = b.writeAttrs(name, rec); err != nil {
			return err
		}
	}
	src := tempInRoot(tmp)
	if placed, err := b.place(src, name, ifNotExist); placed {
		if inXattr {
			b.removeAttrsFile(name) // an older version's, if it had one
		}
		return err // nil, or the fsync's
	} else if err != nil {
		if fresh {
			b.removeAttrsFile(name) // its one record describes the temporary file
		}
		if _, serr := b.root.Lstat(src); errors.Is(err, fs.ErrNotExist) && serr != nil {
			// The root no longer finds the temporary file where the
			// reserved root made it: not a missing name.
			return fmt.Errorf("%q: the temporary file is not at %s any more (was %s moved or replaced while the store was open? reopen the store): %v", name, filepath.ToSlash(src), reserved, serr)
		}
		return b.inTheWay(name, err)
	}
	return nil
}

// testHook, set by tests, runs before the steps that tests interleave
// with other programs' changes: "place" (name: the object's) before a
// file is renamed or linked to its name, "delete" before an object is
// removed, "attrs" before an attributes file is renamed into place,
// "opendir" before a directory is opened and "fsync" before one is
// fsynced (name: the directory's, relative to the root).
var testHook func(op, name string)

// durabilityErr is the error of a Put, Copy or Rename whose file is in
// place but whose directory could not be fsynced.
func durabilityErr(name string, err error) error {
	return fmt.Errorf("%q is in place, but fsync of its directory failed, so a crash may lose it: %w", name, err)
}

// place moves the file at src (relative to the root) to name, making
// name's directories, and fsyncs the directory it lands in; placed tells
// whether the file is at name (the error is then the fsync's). A concurrent
// Delete may remove an emptied directory between the two steps, hence
// the retries. Each step resolves its names anew through the root, so a
// link swapped in between cannot lead outside; and the directory is
// opened (for the fsync) before the move and checked not to be the
// reserved directory, so that nothing after the move but the fsync
// itself can fail.
func (b *bucket) place(src, name string, ifNotExist bool) (placed bool, err error) {
	dst := rel(name)
	dir := filepath.Dir(dst)
	for range 5 {
		if err = b.mkdirs(dir); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err == errInReserved {
				err = reservedErr(name)
			}
			return false, err
		}
		var d *os.File
		if d, err = b.openDir(dir); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return false, err
		}
		if dir != "." {
			if info, err := d.Stat(); err != nil || b.isReserved(info) {
				d.Close()
				if err == nil {
					err = reservedErr(name)
				}
				return false, err
			}
		}
		if testHook != nil {
			testHook("place", filepath.ToSlash(dst))
		}
		if ifNotExist {
			err = b.root.Link(src, dst)
		} else {
			err = b.root.Rename(src, dst)
		}
		if err == nil {
			err = b.fsyncDir(d, filepath.ToSlash(dir))
			d.Close()
			if err != nil {
				return true, durabilityErr(name, err)
			}
			return true, nil
		}
		d.Close()
		if !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
	}
	return false, err
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
