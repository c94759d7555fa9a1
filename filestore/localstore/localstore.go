// Package localstore is the local-disk filestore backend, scheme file://.
//
// # URLs
//
//	file:///srv/files                 the directory must exist
//	file:///srv/files?mkdir=true      create it (and its parents) if missing, mode 0750
//	file:///srv/files?fsync=false     skip fsync (faster; a crash may lose recent Puts)
//	file:///srv/files?xattrs=false    keep attributes in files, not extended attributes
//
// Unknown parameters are an error.
//
// # Layout
//
// An object named "a/b.txt" is the file <dir>/a/b.txt, byte for byte, so
// other programs read (and write) the tree directly; directories are
// created as needed and removed when their last object is deleted.
//
// The directory <dir>/.filestore is the store's own: temporary files in
// .filestore/tmp, attributes files in .filestore/attrs. Names whose first
// element is .filestore, in any case (".FILESTORE" on a case-insensitive
// file system is the same directory), are reserved (fs.ErrInvalid).
//
// An object's attributes (SHA-256, content type, metadata) are JSON in
// the file's extended attribute user.groundwork.filestore, set on the
// temporary file before the rename so that they arrive with the data. On
// a file system without user extended attributes (or for attributes too
// large for one) they are the file .filestore/attrs/<SHA-256 of the
// name>.json: one flat directory, with nothing in it that mirrors the
// objects' directories. Attributes record the file's inode, size and
// modification time and are ignored when these no longer match (a file
// rewritten by another program): Stat then reports no SHA-256 and a
// content type guessed from the extension. Encoded, one object's
// attributes take 64 KiB at most; a Put with more is fs.ErrInvalid.
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
// link to an ancestor).
//
// The reserved directory follows no link. Anyone who can write the tree
// can replace .filestore, .filestore/tmp or .filestore/attrs by a link
// (to an object directory, say, where the sweep of stale temporary files
// would delete objects): New refuses to open a directory where any of
// them is a link, or anything but a directory, saying which and asking
// for it to be removed (a missing one is made). New then opens
// .filestore as a root of its own, and every temporary and attributes
// file is made, read, renamed and removed through it, so that no link
// there leads out of .filestore, whatever is swapped in later; a tmp or
// attrs removed while the store is open is made again, one replaced by
// a link fails the Puts that need it, saying so. The sweep at New removes
// only regular files (looked at without following links) whose names
// start with put-, copy- or attrs-, a day old or more. Conversely a name
// whose directory a link leads into .filestore, tmp or attrs ("x/tmp/..."
// with x -> .filestore) fails every call with fs.ErrPermission, and no
// Put makes a directory inside .filestore through such a link. A link
// to a single file inside .filestore is read as any link inside the
// directory: whoever can plant it can read that file already.
//
// A hard link is the file itself: one made to a file elsewhere on the
// same file system is read as an object, though Put and Delete replace or
// remove the name only. Rename of a name onto another hard link of the
// same file fails with fs.ErrExist and changes nothing (rename(2) would
// do nothing and succeed): Delete the name instead.
//
// # Other files
//
// FIFOs, sockets and devices are no objects (fs.ErrNotExist; List passes
// them by), and a file the process cannot read is not listed. No open
// waits on one: objects and attributes files are opened with O_NONBLOCK,
// and directories with O_DIRECTORY, so a FIFO where a file or directory
// was (even one swapped in between two steps of a call) fails the step at
// once instead of waiting for a writer; an attributes file is read only
// if it is a regular file, and no more of it than two records take
// (128 KiB).
//
// # Errors
//
// A missing name, one that is a directory, a FIFO, a socket or a device,
// and one whose symbolic links loop, is fs.ErrNotExist; Put of a name
// where a directory is or under an object, IfNotExist on an existing
// name, and Rename onto another hard link of the file, fs.ErrExist; a
// name under .filestore/, and attributes over 64 KiB, fs.ErrInvalid; a
// name a symbolic link leads out of the directory, or into .filestore,
// fs.ErrPermission. New fails, naming it, when .filestore, tmp or attrs
// is not a directory.
//
// # Guarantees
//
// Put writes a temporary file, sets the attributes on it (the extended
// attribute) and fsyncs it. Without an extended attribute it then writes
// the attributes file: a temporary file, fsynced, renamed into place,
// and .filestore/attrs fsynced. Then it makes the name's missing
// directories, fsyncing the directory each was made in, renames the file
// over the name (link(2) for IfNotExist, which fails if the name exists)
// and fsyncs the directory it lands in. So a reader sees the old content
// or the new, never part of it; a Put that returned survives a crash,
// attributes included (unless fsync=false); and a Put that fails leaves
// the name — content and attributes — as it was. For the last, the
// attributes file keeps the record of the file at the name beside the
// new one until the new file is placed (a record counts only for the
// file it describes), and nothing after the rename can fail but the
// fsync of the directory: an error saying that the object is in place
// but may not survive a crash. Copy is a Put of a copy. Rename is
// rename(2), atomic, after adding from's record in the attributes file
// (if any) to to's, and fsyncs both directories (and those it made).
// With fsync on, a crash at any point leaves each name with its old or
// its new content and attributes, and at worst a temporary file, which a
// New a day or more later removes.
//
// Commits to one name are serialised within the process; processes
// sharing a directory each keep the file-level guarantees, but where the
// attributes file is in use two writing one name at once may leave it
// without its attributes.
//
// An open Reader keeps reading the content it opened even if the object
// is replaced or deleted.
//
// # Windows
//
// Go's os.Root opens files with FILE_SHARE_DELETE and removes and renames
// them with POSIX semantics (NTFS, Windows 10 1607 and later), so an open
// Reader does not block Delete, Rename or a Put over the name; on file
// systems without those semantics (FAT) it may. Directories are not
// fsynced (Windows has no fsync of a directory opened for reading), so
// there a crash may lose a rename that a Put returned after. Names with "\" or ":", or whose first
// element is .filestore once Windows drops trailing dots and spaces, are
// refused (fs.ErrInvalid). Attributes files, always in use there, are
// keyed by the name's bytes: a name spelled in another case than it was
// written reads the object, but not its attributes.
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
	"sync"
	"sync/atomic"
	"syscall"

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
	return newBucket(u.Path, o, "add ?mkdir=true to the URL")
}

// Options configure New; nil means all defaults.
type Options struct {
	// Mkdir creates the directory (and its parents) if it is missing,
	// with mode 0750 (less the umask), instead of failing.
	Mkdir bool
	// NoSync skips fsync of files and directories on Put, Copy and
	// Rename.
	NoSync bool
	// NoXattrs keeps attributes in files under .filestore/attrs even
	// where the file system has extended attributes (for trees copied by
	// tools that drop them).
	NoXattrs bool
}

type bucket struct {
	// root is the directory: every file operation goes through it, so
	// that no name — nor a symbolic link met on the way — reaches outside.
	root *os.Root
	// meta is the reserved directory .filestore, opened as its own root
	// at New: temporary and attributes files are made, read and removed
	// through it, so that no link in the tree leads them elsewhere.
	meta *os.Root
	// reservedDirs are .filestore, its tmp and its attrs (checkParent
	// refuses names that resolve into them).
	reservedDirs atomic.Pointer[[]fs.FileInfo]
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
	return newBucket(dir, opts, "set Options.Mkdir")
}

// newBucket is New; mkdirHint says how to have a missing directory made.
func newBucket(dir string, opts *Options, mkdirHint string) (driver.Bucket, error) {
	if opts == nil {
		opts = &Options{}
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if opts.Mkdir {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("making directory %s: %w", dir, err)
		}
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("directory %s: %w: create it, or %s", dir, fs.ErrNotExist, mkdirHint)
	case err != nil:
		return nil, fmt.Errorf("directory %s: %w", dir, err)
	case !st.IsDir():
		return nil, fmt.Errorf("directory %s: %w: it is not a directory", dir, fs.ErrInvalid)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("directory %s: %w", dir, err)
	}
	b := &bucket{root: root, escapes: escapeError(root), noSync: opts.NoSync}
	b.noXattrs.Store(opts.NoXattrs)
	if err := b.openReserved(); err != nil {
		root.Close()
		return nil, fmt.Errorf("directory %s: %w", dir, err)
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

// lock serialises commits to one name in this process, so that a file
// and its attributes are written by the same Put.
func (b *bucket) lock(name string) func() {
	mu := &b.locks[b.stripe(name)]
	mu.Lock()
	return mu.Unlock
}

// lock2 locks two names (Rename's), in the stripes' order so that two
// calls cannot each hold the lock the other waits for.
func (b *bucket) lock2(x, y string) func() {
	i, j := b.stripe(x), b.stripe(y)
	if i == j {
		return b.lock(x)
	}
	if i > j {
		i, j = j, i
	}
	b.locks[i].Lock()
	b.locks[j].Lock()
	return func() { b.locks[j].Unlock(); b.locks[i].Unlock() }
}

func (b *bucket) stripe(name string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return h.Sum32() % uint32(len(b.locks))
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

func (b *bucket) Close() error { return errors.Join(b.meta.Close(), b.root.Close()) }
