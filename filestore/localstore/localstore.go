// Package localstore is the local-disk filestore backend, scheme file://.
//
// # URLs
//
//	file:///srv/files                 the directory must exist
//	file:///srv/files?mkdir=true      create it (and its parents) if missing
//	file:///srv/files?fsync=false     skip fsync (faster; a crash may lose recent Puts)
//	file:///srv/files?xattrs=false    keep attributes in files, not extended attributes
//
// Unknown parameters are an error.
//
// # Layout
//
// An object named "a/b.txt" is the file <dir>/a/b.txt, byte for byte, so
// other programs read (and write) the tree directly; directories are
// created as needed and removed when their last object is deleted. The
// directory <dir>/.filestore holds temporary files; names starting with
// ".filestore/" are reserved (fs.ErrInvalid). An object's attributes
// (SHA-256, content type, metadata) are JSON in the file's extended
// attribute user.groundwork.filestore, set before the rename so that they
// arrive with the data; on a file system without user extended
// attributes (or for attributes too large for one) they are a file under
// .filestore/attrs/. Attributes record the file's inode, size and
// modification time and are ignored when these no longer match (a file
// rewritten by another program): Stat then reports no SHA-256 and a
// content type guessed from the extension.
//
// On disk one name cannot be both a file and a directory: Put of "a/b"
// while "a" is an object (or of "a" while "a/..." objects exist) fails
// with fs.ErrExist.
//
// # Guarantees
//
// Put writes a temporary file, fsyncs it, and renames it over the name
// (link(2) for IfNotExist, which fails if the name exists), then fsyncs
// the directory: a reader sees the old content or the new, never part of
// it, and a Put that returned survives a crash (unless fsync=false).
// Rename is rename(2): atomic. An open Reader keeps reading the content it
// opened even if the object is replaced or deleted.
//
// # As
//
// Nothing: there is no native client; the files are in the directory.
package localstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/driver"
)

// Scheme is the URL scheme localstore registers.
const Scheme = "file"

func init() { filestore.Register(Scheme, localDriver{}) }

type localDriver struct{}

func (localDriver) Open(_ context.Context, u *url.URL) (driver.Bucket, error) {
	if u.Host != "" && u.Host != "localhost" {
		return nil, fmt.Errorf("%w: file URL with host %q: want file:///absolute/dir", driver.ErrBadURL, u.Host)
	}
	if u.Path == "" {
		return nil, fmt.Errorf("%w: file URL without a directory: want file:///absolute/dir", driver.ErrBadURL)
	}
	o := &Options{}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		var err error
		switch k {
		case "mkdir":
			o.Mkdir, err = strconv.ParseBool(v)
		case "fsync":
			var sync bool
			sync, err = strconv.ParseBool(v)
			o.NoSync = !sync
		case "xattrs":
			var x bool
			x, err = strconv.ParseBool(v)
			o.NoXattrs = !x
		default:
			return nil, fmt.Errorf("%w: unknown parameter %q (known: mkdir, fsync, xattrs)", driver.ErrBadURL, k)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: parameter %s=%q: %v", driver.ErrBadURL, k, v, err)
		}
	}
	return New(u.Path, o)
}

// Options configure New; nil means all defaults.
type Options struct {
	// Mkdir creates the directory if it is missing, instead of failing.
	Mkdir bool
	// NoSync skips fsync of files and directories on Put, Copy and
	// Rename.
	NoSync bool
	// NoXattrs keeps attributes in files under .filestore/attrs even
	// where the file system has extended attributes (for trees copied by
	// tools that drop them).
	NoXattrs bool
}

// reserved is the directory, under the root, of temporary files and
// attributes.
const reserved = ".filestore"

type bucket struct {
	root   string
	tmp    string
	attrs  string
	noSync bool
	// noXattrs: the file system has no user extended attributes; the
	// attributes go to files under .filestore/attrs instead.
	noXattrs atomic.Bool
	// locks serialise commits to one name (striped: a fixed set, so
	// that memory does not grow with the names seen).
	locks [64]sync.Mutex
}

var (
	_ driver.Bucket  = (*bucket)(nil)
	_ driver.Renamer = (*bucket)(nil)
)

// New returns a backend on the directory dir; filestore.NewStore wraps it.
func New(dir string, opts *Options) (driver.Bucket, error) {
	if opts == nil {
		opts = &Options{}
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if opts.Mkdir {
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, err
		}
	}
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("directory %s: %w", root, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: %w: not a directory", root, fs.ErrInvalid)
	}
	b := &bucket{root: root, tmp: filepath.Join(root, reserved, "tmp"), attrs: filepath.Join(root, reserved, "attrs"), noSync: opts.NoSync}
	b.noXattrs.Store(opts.NoXattrs)
	for _, d := range []string{b.tmp, b.attrs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	b.removeStaleTemps()
	return b, nil
}

// removeStaleTemps deletes temporary files a crashed process left, a day
// old or more (younger ones may belong to a Put in flight elsewhere).
func (b *bucket) removeStaleTemps() {
	entries, _ := os.ReadDir(b.tmp)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > 24*time.Hour {
			_ = os.Remove(filepath.Join(b.tmp, e.Name()))
		}
	}
}

func (b *bucket) path(name string) string { return filepath.Join(b.root, filepath.FromSlash(name)) }

func (b *bucket) attrsPath(name string) string {
	return filepath.Join(b.attrs, filepath.FromSlash(name)+".json")
}

func checkName(name string) error {
	if name == reserved || strings.HasPrefix(name, reserved+"/") {
		return fmt.Errorf("%w: names under %s/ are reserved", fs.ErrInvalid, reserved)
	}
	return nil
}

// lock serialises commits to one name in this process, so that a file
// and its attributes are written by the same Put.
func (b *bucket) lock(name string) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	mu := &b.locks[h.Sum32()%uint32(len(b.locks))]
	mu.Lock()
	return mu.Unlock
}

// mapErr turns the os errors of a name into the io/fs sentinels the
// portable layer promises.
func mapErr(name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%q: %w", name, fs.ErrNotExist)
	case isNotDir(err):
		return fmt.Errorf("%q: %w (a parent of it is an object)", name, fs.ErrNotExist)
	}
	return err
}

func (b *bucket) Close() error { return nil }
