package localstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
)

func (b *bucket) Delete(_ context.Context, name string) error {
	if _, err := b.stat(name); err != nil {
		return err
	}
	unlock := b.lock(name)
	defer unlock()
	if testHook != nil {
		testHook("delete", name)
	}
	// A link at the name is removed itself, never its target.
	if err := b.root.Remove(rel(name)); err != nil {
		return b.mapErr(name, err)
	}
	_ = b.root.Remove(attrsRel(name))
	b.pruneDirs(filepath.Dir(rel(name)), ".")
	b.pruneDirs(filepath.Dir(attrsRel(name)), attrsDir)
	return nil
}

// pruneDirs removes dir and its parents up to (not including) top, all
// relative to the root, while they are empty directories, so that a
// directory lives only while objects are in it. A link to a directory is
// left alone (Remove would unlink the link).
func (b *bucket) pruneDirs(dir, top string) {
	for dir != top && dir != "." {
		if info, err := b.root.Lstat(dir); err != nil || !info.IsDir() {
			return
		}
		if b.root.Remove(dir) != nil { // not empty (or gone): stop
			return
		}
		dir = filepath.Dir(dir)
	}
}

// Copy copies src's file into a temporary file (copy_file_range where
// the kernel has it) and commits it as dst with src's attributes; src's
// SHA-256 is reused when its attributes are current, else computed.
func (b *bucket) Copy(_ context.Context, dst, src string) error {
	if err := checkName(dst); err != nil {
		return err
	}
	in, info, err := b.openObject(src)
	if err != nil {
		return err
	}
	defer in.Close()
	attrs := b.attributes(src, in, info)
	out, tmp, err := b.createTemp("copy-")
	if err != nil {
		return err
	}
	defer b.root.Remove(tmp)
	sum := attrs.SHA256
	if sum == nil {
		h := sha256.New()
		_, err = io.Copy(io.MultiWriter(out, h), in)
		sum = h.Sum(nil)
	} else {
		_, err = io.Copy(out, in)
	}
	if err != nil {
		out.Close()
		return err
	}
	return b.commit(out, tmp, dst, false, sum, attrs.ContentType, attrs.Metadata)
}

// Rename is rename(2) of the file, then of its attributes (which stay
// valid: the inode, size and time do not change). A link at from is
// moved itself, not its target.
func (b *bucket) Rename(_ context.Context, from, to string) error {
	if err := checkName(to); err != nil {
		return err
	}
	if _, err := b.stat(from); err != nil {
		return err
	}
	src, dst := rel(from), rel(to)
	if err := b.place(src, dst, false); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return b.mapErr(from, err)
		}
		return b.inTheWay(to, err)
	}
	if err := b.syncDir(filepath.Dir(dst)); err != nil {
		return b.mapErr(to, err)
	}
	if err := b.root.MkdirAll(filepath.Dir(attrsRel(to)), 0o755); err == nil {
		_ = b.root.Rename(attrsRel(from), attrsRel(to))
	}
	b.pruneDirs(filepath.Dir(src), ".")
	b.pruneDirs(filepath.Dir(attrsRel(from)), attrsDir)
	return nil
}
