package hdfsstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync/atomic"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

func (b *bucket) Attributes(ctx context.Context, name string) (*driver.Attributes, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var out *driver.Attributes
	err := b.call(ctx, func() error {
		_, a, err := b.stat(name, b.path(name))
		out = a
		return err
	})
	return out, err
}

// Delete removes the file (a non-recursive delete: a directory put in
// its place meanwhile is not emptied) and the directories it leaves
// empty.
func (b *bucket) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return b.call(ctx, func() error {
		p := b.path(name)
		if _, _, err := fileInfo(b.c, name, p); err != nil {
			return err
		}
		if err := b.c.Remove(p); err != nil {
			return mapErr(name, err)
		}
		if h := testBeforePrune.Load(); h != nil {
			(*h)()
		}
		b.prune(path.Dir(p))
		return nil
	})
}

// testBeforePrune, set by tests (export_test.go), runs in Delete between
// the removal of the file and the prune of its directories.
var testBeforePrune atomic.Pointer[func()]

// prune removes dir and its parents, up to the base, while they are
// empty directories.
func (b *bucket) prune(dir string) {
	for dir != b.base && strings.HasPrefix(dir, b.base+"/") {
		if !b.removeEmptyDir(dir) {
			return
		}
		dir = path.Dir(dir)
	}
}

// removeEmptyDir removes dir if it is an empty directory, and reports
// whether it did. A delete by path could remove whatever holds the path
// by then — another caller's object, put there once a concurrent prune
// removed the directory — so the directory is deleted by its inode
// (HDFS's /.reserved/.inodes/<id>): gone or replaced meanwhile, it is
// not found, and a non-recursive delete refuses it once not empty.
func (b *bucket) removeEmptyDir(dir string) bool {
	fi, err := b.c.Stat(dir)
	if err != nil {
		return false
	}
	t, id := status(fi)
	if t != isDir || id == 0 {
		return false
	}
	return b.c.Remove(inodePath(id)) == nil
}

// removeEmptyTree removes dir if no file lies under it, however deep (a
// failed Put under it made its directories; a crash left them): its
// subdirectories first, each by inode (removeEmptyDir).
func (b *bucket) removeEmptyTree(dir string) bool {
	entries, err := b.c.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if t, _ := status(e); t != isDir || !b.removeEmptyTree(dir+"/"+e.Name()) {
			return false
		}
	}
	return b.removeEmptyDir(dir)
}

// Rename is rename2 with OVERWRITE: atomic on the namenode, the
// attributes going along in the file's xattr.
func (b *bucket) Rename(ctx context.Context, from, to string) error {
	if err := checkName(from); err != nil {
		return err
	}
	if err := b.checkNewName(to); err != nil {
		return err
	}
	return b.call(ctx, func() error {
		src := b.path(from)
		if _, _, err := fileInfo(b.c, from, src); err != nil {
			return err
		}
		if from == to {
			return nil
		}
		if err := b.place(src, to, false); err != nil {
			return err
		}
		b.prune(path.Dir(src))
		return nil
	})
}

// Copy reads src and writes dst through a temporary file, committed with
// src's content type and metadata and the SHA-256 of what it copied.
func (b *bucket) Copy(ctx context.Context, dst, src string) error {
	if err := b.checkNewName(dst); err != nil {
		return err
	}
	r, err := b.NewRangeReader(ctx, src, 0, -1)
	if err != nil {
		return err
	}
	defer r.Close()
	attrs := r.Attributes()
	w, err := b.NewWriter(ctx, dst, &driver.WriterOptions{ContentType: attrs.ContentType, Metadata: attrs.Metadata})
	if err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), r); err != nil {
		_ = w.Abort()
		return err
	}
	// The digest of the bytes copied, not the source's record: a record
	// bound to the source's inode and size still goes stale if another
	// program rewrites the file in place to the same size.
	if err := w.Commit(h.Sum(nil)); err != nil {
		_ = w.Abort()
		return err
	}
	return nil
}

// List walks the base's tree (driver.Walk) with getListing, leaving out
// .filestore; each file's attributes cost one getXAttrs. Only regular
// files are objects and only directories are descended: a symbolic link
// is neither.
func (b *bucket) List(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	var page *driver.ListPage
	err := b.call(ctx, func() error {
		infos := map[string]os.FileInfo{}
		readDir := func(dir string) ([]driver.WalkEntry, error) {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			p := b.base
			if dir != "" {
				p += "/" + strings.TrimSuffix(dir, "/")
			}
			entries, err := b.c.ReadDir(p)
			if errors.Is(err, os.ErrNotExist) {
				return nil, nil // removed meanwhile
			}
			if err != nil {
				return nil, err
			}
			out := make([]driver.WalkEntry, 0, len(entries))
			for _, e := range entries {
				if dir == "" && e.Name() == reserved {
					continue
				}
				switch t, _ := status(e); t {
				case isDir:
					out = append(out, driver.WalkEntry{Name: e.Name(), Dir: true})
				case isFile:
					infos[dir+e.Name()] = e
					out = append(out, driver.WalkEntry{Name: e.Name()})
				}
			}
			return out, nil
		}
		var attrErr error
		var err error
		page, err = driver.Walk(opts, readDir, func(name string) *driver.Attributes {
			fi, ok := infos[name]
			if !ok || attrErr != nil {
				return nil
			}
			_, id := status(fi)
			a, replaced, err := b.attributes(b.path(name), name, fi, id)
			if err == nil && replaced {
				// Replaced or removed since the listing: ask again.
				_, a, err = b.stat(name, b.path(name))
			}
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return nil // gone meanwhile
			case err != nil:
				attrErr = err
				return nil
			}
			return a
		})
		if err == nil {
			err = attrErr
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}
