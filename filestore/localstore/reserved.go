package localstore

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// reserved is the directory, under the root, of the store's own files:
// its subdirectory tmp holds temporary files, attrs attributes files.
const reserved = ".filestore"

const (
	tmpDir   = "tmp"   // relative to the reserved directory
	attrsDir = "attrs" // relative to the reserved directory
)

// tempPrefixes start the names of the store's temporary files; the stale
// ones are removed at New.
var tempPrefixes = []string{"put-", "copy-", "attrs-"}

// openReserved opens the reserved directory as its own root, b.meta,
// making it and its subdirectories where missing. Any of them that is
// not a real directory — a symbolic link above all, which os.Root would
// follow — is refused: anyone who writes the tree could have planted it
// to lead the store's temporary files, attributes and sweep of stale
// files into the objects' directories.
func (b *bucket) openReserved() error {
	info, err := realDir(b.root, reserved, reserved)
	if err != nil {
		return err
	}
	// "/." opens the directory itself after opening it as a directory
	// (O_DIRECTORY): a FIFO swapped in meanwhile cannot block the open.
	meta, err := b.root.OpenRoot(reserved + "/.")
	if err != nil {
		return fmt.Errorf("the reserved directory %s: %w", reserved, err)
	}
	if mi, err := meta.Stat("."); err != nil || !os.SameFile(mi, info) {
		meta.Close()
		return fmt.Errorf("the reserved directory %s changed while it was being opened (%v)", reserved, err)
	}
	dirs := []fs.FileInfo{info}
	for _, sub := range []string{tmpDir, attrsDir} {
		info, err := realDir(meta, sub, reserved+"/"+sub)
		if err != nil {
			meta.Close()
			return err
		}
		dirs = append(dirs, info)
	}
	b.meta = meta
	b.reservedDirs.Store(&dirs)
	return nil
}

// realDir returns the directory name in r, made if missing; anything else
// under the name (a symbolic link, a file, a FIFO) is an error, which
// calls it shown.
func realDir(r *os.Root, name, shown string) (fs.FileInfo, error) {
	info, err := r.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		if err = r.Mkdir(name, 0o755); err == nil || errors.Is(err, fs.ErrExist) {
			info, err = r.Lstat(name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", shown, err)
	}
	if info.Mode().Type() != fs.ModeDir {
		what := "a file of mode " + info.Mode().String()
		if info.Mode()&fs.ModeSymlink != 0 {
			what = "a symbolic link"
		}
		return nil, fmt.Errorf("%s is %s, not a directory (%w): the store keeps its temporary files and attributes there and follows no link there; remove it (the store makes the directory)", shown, what, fs.ErrInvalid)
	}
	return info, nil
}

// remakeReserved makes the reserved subdirectory sub again after another
// program removed it, or explains why the store cannot use it.
func (b *bucket) remakeReserved(sub string) error {
	info, err := realDir(b.meta, sub, reserved+"/"+sub)
	if errors.Is(err, fs.ErrInvalid) {
		return errors.New(err.Error()) // not the caller's argument that is invalid
	}
	if err != nil {
		return fmt.Errorf("%v (was %s removed or replaced while the store was open? reopen the store)", err, reserved)
	}
	dirs := slices.Clone(*b.reservedDirs.Load()) // .filestore, tmp, attrs
	if sub == tmpDir {
		dirs[1] = info
	} else {
		dirs[2] = info
	}
	b.reservedDirs.Store(&dirs)
	return nil
}

// createTemp creates a new file in the temporary directory, through the
// reserved root, and returns it with its name there.
func (b *bucket) createTemp(prefix string) (*os.File, string, error) {
	name := prefix + rand.Text()
	f, err := b.meta.OpenFile(tempPath(name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		// Made again if another program removed it; or why it cannot
		// serve (a link put in its place).
		if rerr := b.remakeReserved(tmpDir); rerr != nil {
			err = rerr
		} else {
			f, err = b.meta.OpenFile(tempPath(name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		}
	}
	if err != nil {
		// Not wrapped: an fs.ErrNotExist here is not the object's.
		return nil, "", fmt.Errorf("creating a temporary file in %s/%s: %v", reserved, tmpDir, err)
	}
	return f, name, nil
}

// tempPath is the path of the temporary file name relative to the
// reserved directory; tempInRoot relative to the root.
func tempPath(name string) string   { return filepath.Join(tmpDir, name) }
func tempInRoot(name string) string { return filepath.Join(reserved, tmpDir, name) }

// removeTemp removes the temporary file name (gone already once renamed).
func (b *bucket) removeTemp(name string) error { return b.meta.Remove(tempPath(name)) }

// removeStaleTemps deletes the temporary files a crashed process left, a
// day old or more (younger ones may belong to a Put in flight elsewhere):
// regular files with the store's prefixes only, each looked at without
// following links (Lstat) before it is removed, and all through the
// reserved root, which no link leads out of.
func (b *bucket) removeStaleTemps() {
	d, err := b.meta.OpenFile(tmpDir, os.O_RDONLY|oDirectory, 0)
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, n := range names {
		if !isTempName(n) {
			continue
		}
		info, err := b.meta.Lstat(tempPath(n))
		if err == nil && info.Mode().IsRegular() && time.Since(info.ModTime()) > 24*time.Hour {
			_ = b.meta.Remove(tempPath(n))
		}
	}
}

func isTempName(n string) bool {
	for _, p := range tempPrefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}
