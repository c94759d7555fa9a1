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
// # Symbolic links
//
// Every file operation goes through an os.Root on the directory, so that
// no name reaches outside it. A symbolic link met on a name's path is
// followed only while it stays inside: it must be relative (os.Root
// refuses absolute targets, even ones pointing inside). A name that a
// link leads out of the directory — to a directory or file elsewhere, or
// up through ".." — fails the call with fs.ErrPermission, naming the
// name, and nothing outside is read, written or deleted. Names are
// resolved anew at every step, so a link swapped in between two calls (or
// two steps of one) cannot redirect a step outside either.
//
// A link that stays inside is followed: Open and Stat read its target,
// and a Put under a link to a directory writes into that directory.
// Delete, Rename and Put at the link's own name act on the link, never
// on its target. List lists a link to a file, but does not descend a
// link to a directory (objects would be listed twice, or for ever with a
// link to an ancestor). FIFOs, sockets and devices are no objects, and a
// file the process cannot read is not listed.
//
// A hard link is the file itself: one made to a file elsewhere on the
// same file system is read as an object, though Put and Delete replace or
// remove the name only.
//
// # Errors
//
// A missing name, one that is a directory, and one whose symbolic links
// loop, is fs.ErrNotExist; Put of
// a name where a directory is or under an object, and IfNotExist on an
// existing name, fs.ErrExist; a name under .filestore/ fs.ErrInvalid; a
// name a symbolic link leads out of the directory fs.ErrPermission.
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
	"syscall"
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

// tmpDir and attrsDir hold temporary files and attributes files,
// relative to the root.
var (
	tmpDir   = filepath.Join(reserved, "tmp")
	attrsDir = filepath.Join(reserved, "attrs")
)

type bucket struct {
	// root is the directory: every file operation goes through it, so
	// that no name — nor a symbolic link met on the way — reaches outside.
	root *os.Root
	// escapes is the error root gives for a name that leads out of it.
	escapes error
	noSync  bool
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
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if opts.Mkdir {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("directory %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: %w: not a directory", dir, fs.ErrInvalid)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("directory %s: %w", dir, err)
	}
	b := &bucket{root: root, escapes: escapeError(root), noSync: opts.NoSync}
	b.noXattrs.Store(opts.NoXattrs)
	for _, d := range []string{tmpDir, attrsDir} {
		if err := root.MkdirAll(d, 0o755); err != nil {
			root.Close()
			return nil, fmt.Errorf("directory %s: %w", dir, b.mapErr(filepath.ToSlash(d), err))
		}
	}
	b.removeStaleTemps()
	return b, nil
}

// escapeError is the error an os.Root gives for a name that leads out of
// it (by "..", an absolute path or a symbolic link). The os package does
// not export it, so it is had from the root itself, by asking for "..",
// which the root refuses before any I/O.
func escapeError(root *os.Root) error {
	_, err := root.Lstat("..")
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// removeStaleTemps deletes temporary files a crashed process left, a day
// old or more (younger ones may belong to a Put in flight elsewhere).
func (b *bucket) removeStaleTemps() {
	d, err := b.root.Open(tmpDir)
	if err != nil {
		return
	}
	entries, _ := d.ReadDir(-1)
	d.Close()
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > 24*time.Hour {
			_ = b.root.Remove(filepath.Join(tmpDir, e.Name()))
		}
	}
}

// rel is the path of the object name relative to the root.
func rel(name string) string { return filepath.FromSlash(name) }

// attrsRel is the path of name's attributes file relative to the root.
func attrsRel(name string) string { return filepath.Join(attrsDir, rel(name)+".json") }

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
func (b *bucket) mapErr(name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, b.escapes):
		return b.escaped(name)
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%q: %w", name, fs.ErrNotExist)
	case isNotDir(err):
		return fmt.Errorf("%q: %w (a parent of it is an object)", name, fs.ErrNotExist)
	case errors.Is(err, syscall.ELOOP):
		return fmt.Errorf("%q: %w (symbolic links on its path lead in a loop)", name, fs.ErrNotExist)
	}
	return err
}

// escaped is the error of a name that a symbolic link leads out of the
// directory: the call is refused, nothing outside is read or written.
func (b *bucket) escaped(name string) error {
	return fmt.Errorf("%q: %w: a symbolic link on its path leads out of the store's directory (links must be relative and stay inside it)", name, fs.ErrPermission)
}

func (b *bucket) Close() error { return b.root.Close() }
