package filestore

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// FS returns a read-only io/fs view of the store: objects are files, and
// the slash-separated prefixes of their names are directories (as in
// S3). Calls run with context.Background(); use the Store's methods where
// a deadline matters.
func (s *Store) FS() fs.FS { return storeFS{s} }

type storeFS struct{ s *Store }

var (
	_ fs.ReadDirFS = storeFS{}
	_ fs.StatFS    = storeFS{}
)

func pathErr(op, name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return err
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// Open implements fs.FS.
func (f storeFS) Open(name string) (fs.File, error) {
	info, err := f.stat(name)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	if info.IsDir() {
		return &dirFile{fs: f, name: name, info: info}, nil
	}
	r, err := f.s.Open(context.Background(), name)
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	return &file{Reader: r, info: info}, nil
}

// Stat implements fs.StatFS.
func (f storeFS) Stat(name string) (fs.FileInfo, error) {
	info, err := f.stat(name)
	if err != nil {
		return nil, pathErr("stat", name, err)
	}
	return info, nil
}

// stat finds name as an object, else as a directory: "." or a prefix
// some object's name continues with "/".
func (f storeFS) stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, fs.ErrInvalid
	}
	if f.s.closed.Load() {
		return nil, fs.ErrClosed
	}
	if name == "." {
		return dirInfo{"."}, nil
	}
	info, err := f.s.Stat(context.Background(), name)
	if err == nil {
		return fileInfo{info}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	page, err := f.s.b.List(context.Background(), &driver.ListOptions{Prefix: name + "/", PageSize: 1})
	if err != nil {
		return nil, err
	}
	if len(page.Entries) == 0 {
		return nil, fs.ErrNotExist
	}
	return dirInfo{path.Base(name)}, nil
}

// ReadDir implements fs.ReadDirFS.
func (f storeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	file, err := f.Open(name)
	if err != nil {
		return nil, pathErr("readdir", name, err)
	}
	defer file.Close()
	d, ok := file.(*dirFile)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return d.ReadDir(-1)
}

// file is an object opened through the FS view.
type file struct {
	*Reader
	info fs.FileInfo
}

func (f *file) Stat() (fs.FileInfo, error) { return f.info, nil }

type fileInfo struct{ i *Info }

func (fi fileInfo) Name() string       { return path.Base(fi.i.Name) }
func (fi fileInfo) Size() int64        { return fi.i.Size }
func (fi fileInfo) Mode() fs.FileMode  { return 0o444 }
func (fi fileInfo) ModTime() time.Time { return fi.i.ModTime }
func (fi fileInfo) IsDir() bool        { return false }
func (fi fileInfo) Sys() any           { return fi.i }

func (fi fileInfo) Type() fs.FileMode          { return 0 }
func (fi fileInfo) Info() (fs.FileInfo, error) { return fi, nil }

type dirInfo struct{ name string }

func (di dirInfo) Name() string       { return di.name }
func (di dirInfo) Size() int64        { return 0 }
func (di dirInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o555 }
func (di dirInfo) ModTime() time.Time { return time.Time{} }
func (di dirInfo) IsDir() bool        { return true }
func (di dirInfo) Sys() any           { return nil }

func (di dirInfo) Type() fs.FileMode          { return fs.ModeDir }
func (di dirInfo) Info() (fs.FileInfo, error) { return di, nil }

// dirFile is a directory opened through the FS view; ReadDir pages
// through the backend's listing with delimiter "/".
type dirFile struct {
	fs     storeFS
	name   string
	info   fs.FileInfo
	after  string
	done   bool
	closed bool
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }

func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: errors.New("is a directory")}
}

func (d *dirFile) Close() error {
	d.closed = true
	return nil
}

// ReadDir implements fs.ReadDirFile.
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	if d.closed {
		return nil, &fs.PathError{Op: "readdir", Path: d.name, Err: fs.ErrClosed}
	}
	prefix := ""
	if d.name != "." {
		prefix = d.name + "/"
	}
	var out []fs.DirEntry
	for !d.done && (n <= 0 || len(out) < n) {
		size := d.fs.s.o.pageSize
		if n > 0 {
			size = min(size, n-len(out))
		}
		page, err := d.fs.s.b.List(context.Background(), &driver.ListOptions{Prefix: prefix, Delimiter: "/", After: d.after, PageSize: size})
		if err != nil {
			return out, &fs.PathError{Op: "readdir", Path: d.name, Err: err}
		}
		for _, e := range page.Entries {
			base := strings.TrimSuffix(strings.TrimPrefix(e.Name, prefix), "/")
			if e.Dir {
				out = append(out, dirInfo{base})
			} else {
				out = append(out, fileInfo{infoOf(e.Name, e.Attributes)})
			}
			d.after = e.Name
		}
		d.done = !page.More || len(page.Entries) == 0
	}
	if n > 0 && len(out) == 0 {
		return nil, io.EOF
	}
	return out, nil
}
