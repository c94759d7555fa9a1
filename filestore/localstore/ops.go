package localstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

func (b *bucket) Delete(_ context.Context, name string) error {
	if _, err := b.stat(name); err != nil {
		return err
	}
	unlock := b.lock(name)
	defer unlock()
	if err := os.Remove(b.path(name)); err != nil {
		return mapErr(name, err)
	}
	_ = os.Remove(b.attrsPath(name))
	b.pruneDirs(filepath.Dir(b.path(name)), b.root)
	b.pruneDirs(filepath.Dir(b.attrsPath(name)), b.attrs)
	return nil
}

// pruneDirs removes dir and its parents up to (not including) top while
// they are empty, so that a directory lives only while objects are in it.
func (b *bucket) pruneDirs(dir, top string) {
	for dir != top && len(dir) > len(top) {
		if os.Remove(dir) != nil { // not empty (or gone): stop
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
	info, err := b.stat(src)
	if err != nil {
		return err
	}
	attrs := b.attributes(src, info)
	in, err := os.Open(b.path(src))
	if err != nil {
		return mapErr(src, err)
	}
	defer in.Close()
	out, err := os.CreateTemp(b.tmp, "copy-*")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	sum := attrs.SHA256
	if sum == nil {
		h := sha256.New()
		_, err = io.Copy(io.MultiWriter(out, h), in)
		sum = h.Sum(nil)
	} else {
		_, err = io.Copy(out, in)
	}
	if err == nil {
		err = b.closeFile(out)
	} else {
		out.Close()
	}
	if err != nil {
		return err
	}
	return b.commit(out.Name(), dst, false, sum, attrs.ContentType, attrs.Metadata)
}

// Rename is rename(2) of the file, then of its attributes (which stay
// valid: the inode, size and time do not change).
func (b *bucket) Rename(_ context.Context, from, to string) error {
	if err := checkName(to); err != nil {
		return err
	}
	if _, err := b.stat(from); err != nil {
		return err
	}
	src, dst := b.path(from), b.path(to)
	if err := b.place(src, dst, false); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return mapErr(from, err)
		}
		return inTheWay(to, err)
	}
	if err := b.syncDir(filepath.Dir(dst)); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(b.attrsPath(to)), 0o755); err == nil {
		_ = os.Rename(b.attrsPath(from), b.attrsPath(to))
	}
	b.pruneDirs(filepath.Dir(src), b.root)
	b.pruneDirs(filepath.Dir(b.attrsPath(from)), b.attrs)
	return nil
}
