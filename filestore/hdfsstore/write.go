package hdfsstore

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/colinmarc/hdfs/v2"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// Layout: the object "a/b" is the file <base>/a/b; <base>/.filestore/tmp
// holds files being written; names under ".filestore/" are reserved.
const reserved = ".filestore"

// checkName refuses, besides the reserved directory, the names no HDFS
// can hold whatever its configuration (DFSUtil.isValidName,
// FSDirectory.verifyINodeName): an element with ':', and an element
// ".snapshot", which names a snapshottable directory's snapshots — on a
// base made snapshottable, ".snapshot/s1/a" would read a snapshot, a name
// List never shows. The namenode's configurable limits (the length of an
// element, 255 bytes by default) are its to tell: see mapErr.
func checkName(name string) error {
	if name == reserved || strings.HasPrefix(name, reserved+"/") {
		return fmt.Errorf("%w: names under %s/ are reserved", fs.ErrInvalid, reserved)
	}
	for _, e := range strings.Split(name, "/") {
		if strings.Contains(e, ":") || e == ".snapshot" {
			return fmt.Errorf("%w: name %q: HDFS holds no name with ':' in it or an element .snapshot", fs.ErrInvalid, name)
		}
	}
	return nil
}

func (b *bucket) path(name string) string { return b.base + "/" + name }

// The namenode's fixed bounds on a path it adds (create, mkdirs, rename
// destination: NameNodeRpcServer.checkPathLength), refused with a plain
// IOException: in characters as Java counts them (UTF-16 units), and in
// levels.
const (
	maxPathLength = 8000
	maxPathDepth  = 1000
)

// checkNewName checks name as a name to write, where checkName checks it
// as one to look up: its path must fit the namenode's bounds.
func (b *bucket) checkNewName(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	p := b.path(name)
	if n, depth := len(utf16.Encode([]rune(p))), strings.Count(p, "/"); n > maxPathLength || depth > maxPathDepth {
		return fmt.Errorf("%w: name %q: its path %s would have %d characters and %d levels; HDFS allows %d and %d",
			fs.ErrInvalid, name, b.base+"/...", n, depth, maxPathLength, maxPathDepth)
	}
	return nil
}

func (b *bucket) tmpDir() string { return b.base + "/" + reserved + "/tmp" }

func (b *bucket) tmpName() string {
	var r [12]byte
	_, _ = crand.Read(r[:])
	return b.tmpDir() + "/put-" + hex.EncodeToString(r[:])
}

// mkdirAll makes dir and its parents; a file in the way is fs.ErrExist.
func mkdirAll(c *hdfs.Client, dir string) error {
	err := c.MkdirAll(dir, 0o755)
	switch {
	case errors.Is(err, os.ErrExist) || exception(err) == parentNotDirException || exception(err) == fileAlreadyExists:
		return fmt.Errorf("%w: %s or a parent of it is a file (on HDFS a name cannot be a file and a directory)", fs.ErrExist, dir)
	case refusedName(err):
		return fmt.Errorf("%w: %s: %v", fs.ErrInvalid, dir, err)
	}
	return err
}

// writer writes a temporary file, which Commit closes, labels with the
// object's attributes (xattr) and renames to the name.
type writer struct {
	ctx  context.Context
	b    *bucket
	name string
	opts *driver.WriterOptions
	tmp  string
	fw   *hdfs.FileWriter
	n    int64
	err  error // the first Write error: the stream is unusable after it
	done bool  // fw closed (or given up)
}

func (b *bucket) NewWriter(ctx context.Context, name string, opts *driver.WriterOptions) (driver.Writer, error) {
	if err := b.checkNewName(name); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &driver.WriterOptions{}
	}
	w := &writer{ctx: ctx, b: b, name: name, opts: opts, tmp: b.tmpName()}
	err := b.call(ctx, func() error {
		repl, size := b.o.Replication, b.o.BlockSize
		if repl == 0 || size == 0 {
			d, err := b.serverDefaults()
			if err != nil {
				return err
			}
			repl, size = cmp(repl, d.Replication), cmp64(size, d.BlockSize)
		}
		var err error
		for try := 0; try < 2; try++ {
			w.fw, err = b.c.CreateFile(w.tmp, repl, size, 0o644)
			if !errors.Is(err, os.ErrNotExist) && exception(err) != fileNotFoundException {
				break
			}
			// The temporary directory is missing (the first Put, or
			// removed by someone): make it and try again.
			if err = mkdirAll(b.c, b.tmpDir()); err != nil {
				break
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

func cmp(v, def int) int {
	if v != 0 {
		return v
	}
	return def
}

func cmp64(v, def int64) int64 {
	if v != 0 {
		return v
	}
	return def
}

func (w *writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	_ = w.fw.SetDeadline(w.b.deadline(w.ctx))
	n, err := w.fw.Write(p)
	w.n += int64(n)
	if err != nil {
		w.err = err
		if cerr := w.ctx.Err(); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

// Commit closes the temporary file (the datanodes have acknowledged every
// packet when it returns, and the namenode has completed the file),
// stores the attributes on it and moves it to the name.
func (w *writer) Commit(sum []byte) error {
	if w.err != nil {
		return w.err
	}
	return w.b.call(w.ctx, func() error {
		if err := w.close(w.ctx); err != nil {
			return err
		}
		fi, id, err := fileInfo(w.b.c, w.name, w.tmp)
		if err != nil {
			return err
		}
		if fi.Size() != w.n {
			return fmt.Errorf("hdfs: %s holds %d bytes after the write of %d", w.tmp, fi.Size(), w.n)
		}
		v, err := encodeRecord(fi, id, sum, w.opts.ContentType, w.opts.Metadata)
		if err != nil {
			return err
		}
		// On the temporary file, before the rename: the object appears
		// with its attributes, in one namenode operation.
		if err := w.b.c.SetXAttr(w.tmp, xattrKey, v); err != nil {
			return fmt.Errorf("hdfs: store the attributes as the extended attribute %s: %w", xattrKey, mapErr(w.name, err))
		}
		return w.b.place(w.tmp, w.name, w.opts.IfNotExist)
	})
}

// close closes the FileWriter, again while the namenode answers
// ErrReplicating (all data acknowledged, the last block's replicas not
// yet reported): as the Java client does, with a growing pause, bounded
// by ctx and the timeout.
func (w *writer) close(ctx context.Context) error {
	if w.done {
		return nil
	}
	_ = w.fw.SetDeadline(w.b.deadline(ctx))
	end := time.Now().Add(w.b.o.Timeout)
	pause := 20 * time.Millisecond
	for {
		err := w.fw.Close()
		if err == nil || !hdfs.IsErrReplicating(err) {
			w.done = true
			return err
		}
		if time.Now().After(end) {
			w.done = true
			return err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			w.done = true
			return ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, time.Second)
	}
}

// Abort closes the FileWriter (which frees its datanode connection) and
// removes the temporary file, with a context of its own: the caller's
// may be what ended the Put.
func (w *writer) Abort() error {
	ctx, cancel := context.WithTimeout(context.Background(), w.b.o.Timeout)
	defer cancel()
	if !w.done {
		if w.err != nil {
			// The stream failed: only free it (its Close fails at once).
			_ = w.fw.SetDeadline(time.Now())
			_ = w.fw.Close()
			w.done = true
		} else {
			_ = w.close(ctx)
		}
	}
	err := w.b.c.Remove(w.tmp)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// place moves the finished file tmp to name: rename2 with OVERWRITE (a
// reader sees the old object or the new, never neither), or without it
// for ifNotExist. The rename is tried first: its parent directories
// usually exist (every Put over a name, or beside another object), and
// looking first would cost every Put a namenode call. A rename that
// misses its parent (the first object under it, or a Delete that pruned
// it meanwhile) makes the parents and is tried again.
func (b *bucket) place(tmp, name string, ifNotExist bool) error {
	dst := b.path(name)
	var err error
	for range 5 {
		if err = rename2(b.c, tmp, dst, !ifNotExist); err == nil {
			return nil
		}
		if b.removeEmptyTree(dst) {
			// Directories without a file held the name (left by a failed
			// Put under it, or a Delete whose prune failed): no object
			// is there, so the name is free.
			continue
		}
		if exception(err) != fileNotFoundException && !errors.Is(err, os.ErrNotExist) {
			break
		}
		if _, serr := b.c.Stat(tmp); serr != nil {
			break // the source is what is missing
		}
		if merr := mkdirAll(b.c, path.Dir(dst)); merr != nil {
			return fmt.Errorf("%q: %w", name, merr)
		}
	}
	return b.inTheWay(name, err) // err: the last rename's
}

// inTheWay explains the errors of placing a file where something is.
func (b *bucket) inTheWay(name string, err error) error {
	if errors.Is(err, fs.ErrExist) {
		return err
	}
	if fi, serr := b.c.Stat(b.path(name)); serr == nil && fi.IsDir() {
		return fmt.Errorf("%q: %w: objects exist under %q/ (on HDFS a name cannot be a file and a directory)", name, fs.ErrExist, name)
	}
	return mapErr(name, err)
}
