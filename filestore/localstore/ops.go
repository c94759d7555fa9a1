package localstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
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
	if testHook != nil {
		testHook("delete", name)
	}
	// A link at the name is removed itself, never its target.
	if err := b.root.Remove(rel(name)); err != nil {
		return b.mapErr(name, err)
	}
	b.removeAttrsFile(name)
	b.pruneDirs(filepath.Dir(rel(name)))
	return nil
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
	defer b.removeTemp(tmp)
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

// Rename is rename(2) of the file (a link at from is moved itself, not
// its target). Attributes in the extended attribute travel with the
// file; a record in from's attributes file is first added to to's (it
// stays valid: inode, size and time do not change), so that a Rename
// that fails leaves both names as they were.
func (b *bucket) Rename(_ context.Context, from, to string) error {
	if err := checkName(to); err != nil {
		return err
	}
	info, err := b.stat(from)
	if err != nil || from == to {
		return err // (filestore.Store does not pass from == to on)
	}
	unlock := b.lock2(from, to)
	defer unlock()
	if err := b.oneFile(from, to); err != nil {
		return err
	}
	rec, fresh := b.fileRecord(from, info), false
	if rec != nil {
		if fresh, err = b.writeAttrs(to, *rec); err != nil {
			return err
		}
	}
	src, dst := rel(from), rel(to)
	placed, err := b.place(src, to, false)
	if !placed {
		if fresh {
			b.removeAttrsFile(to) // its one record describes from's file
		}
		if errors.Is(err, fs.ErrNotExist) {
			return b.mapErr(from, err)
		}
		return b.inTheWay(to, err)
	}
	if rec != nil {
		b.removeAttrsFile(from)
	}
	if err == nil && filepath.Dir(src) != filepath.Dir(dst) {
		if serr := b.fsyncPath(filepath.Dir(src)); serr != nil {
			err = durabilityErr(to, serr)
		}
	}
	b.pruneDirs(filepath.Dir(src))
	return err // nil, or an fsync's
}

// oneFile refuses a Rename of from onto another hard link of the same
// file: rename(2) would do nothing and succeed, leaving from in place.
// Rename does not remove from itself: on a case-insensitive file system
// two spellings of one name are one file too (with more links elsewhere),
// and removing "from" would remove the object. A file with one link is
// renamed as usual (there, from and to can only be two spellings).
func (b *bucket) oneFile(from, to string) error {
	fi, err := b.root.Lstat(rel(from))
	if err != nil || hardLinks(fi) < 2 {
		return nil
	}
	if ti, err := b.root.Lstat(rel(to)); err != nil || !os.SameFile(fi, ti) {
		return nil
	}
	return fmt.Errorf("%q: %w: %q is another hard link of the same file, so rename(2) would do nothing; Delete %q instead", to, fs.ErrExist, to, from)
}
