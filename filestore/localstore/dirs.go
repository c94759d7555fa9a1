package localstore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// openDir opens the directory dir (relative to the root) for reading or
// fsync. The open does not block: O_DIRECTORY fails at once on anything
// but a directory — another program may swap a FIFO in for it, and
// opening a FIFO waits for a writer.
func (b *bucket) openDir(dir string) (*os.File, error) {
	if testHook != nil {
		testHook("opendir", filepath.ToSlash(dir))
	}
	return openDirIn(b.root, dir)
}

// openDirIn opens the directory dir of r without blocking (see openDir).
func openDirIn(r *os.Root, dir string) (*os.File, error) {
	d, err := r.OpenFile(dir, os.O_RDONLY|oDirectory, 0)
	if err != nil || oDirectory != 0 {
		return d, err
	}
	// No O_DIRECTORY on this platform (nor FIFOs): check after the open.
	if info, err := d.Stat(); err != nil || !info.IsDir() {
		d.Close()
		return nil, &fs.PathError{Op: "open", Path: dir, Err: syscall.ENOTDIR}
	}
	return d, nil
}

// fsyncDir fsyncs the open directory d, shown as shown (relative to the
// root, slash-separated), unless NoSync: the renames and creations in it
// become durable.
func (b *bucket) fsyncDir(d *os.File, shown string) error {
	if b.noSync {
		return nil
	}
	if testHook != nil {
		testHook("fsync", shown)
	}
	return syncDir(d)
}

// fsyncPath fsyncs the directory dir (relative to the root). A directory
// removed meanwhile holds nothing left to make durable.
func (b *bucket) fsyncPath(dir string) error {
	if b.noSync {
		return nil
	}
	d, err := b.openDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer d.Close()
	return b.fsyncDir(d, filepath.ToSlash(dir))
}

// fsyncReserved fsyncs the reserved subdirectory sub.
func (b *bucket) fsyncReserved(sub string) error {
	if b.noSync {
		return nil
	}
	d, err := openDirIn(b.meta, sub)
	if err != nil {
		return err
	}
	defer d.Close()
	return b.fsyncDir(d, reserved+"/"+sub)
}

// mkdirs makes the directory dir (relative to the root) and its missing
// parents, and fsyncs the parent of each directory it made (up to the
// first that existed), so that a crash cannot lose the path to an object
// placed in it. A directory that another program made meanwhile is fine;
// one that a link leads into the reserved directory is errInReserved:
// no directory is made there.
func (b *bucket) mkdirs(dir string) error {
	if dir == "." {
		return nil
	}
	if info, err := b.root.Stat(dir); err == nil && info.IsDir() {
		return nil // the common case: there already
	}
	var made []string
	parts := strings.Split(filepath.ToSlash(dir), "/")
	for i := range parts {
		p := filepath.FromSlash(strings.Join(parts[:i+1], "/"))
		switch err := b.root.Mkdir(p, 0o755); {
		case err == nil:
			made = append(made, p)
		case errors.Is(err, fs.ErrExist):
			if info, err := b.root.Stat(p); err == nil && b.isReserved(info) {
				return errInReserved
			}
		default:
			return err
		}
	}
	for _, p := range made {
		if err := b.fsyncPath(filepath.Dir(p)); err != nil {
			return err
		}
	}
	return nil
}

var errInReserved = errors.New("in the reserved directory")

// pruneDirs removes dir and its parents up to the root, all relative to
// the root, while they are empty directories, so that a directory lives
// only while objects are in it. A link to a directory is left alone
// (Remove would unlink the link).
func (b *bucket) pruneDirs(dir string) {
	for dir != "." {
		if info, err := b.root.Lstat(dir); err != nil || !info.IsDir() {
			return
		}
		if b.root.Remove(dir) != nil { // not empty (or gone): stop
			return
		}
		dir = filepath.Dir(dir)
	}
}
