package hdfsstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/colinmarc/hdfs/v2"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// reader reads a range of one file version: the inode the name held at
// NewRangeReader, opened by its inode path (/.reserved/.inodes/<id>), so
// that every read — the block locations fetched at the first, Seek and
// ReadAt after — is of that inode, whatever the name holds meanwhile.
// Once that version is removed (replaced, deleted) and its blocks with
// it, reads fail, and fail with ErrReplaced.
type reader struct {
	ctx        context.Context // NewRangeReader's: bounds every read
	b          *bucket
	name, p    string
	id         uint64
	attrs      *driver.Attributes
	start, end int64 // the range, in the file

	mu  sync.Mutex // the FileReader is not safe for concurrent use
	fr  *hdfs.FileReader
	pos int64 // relative to start
	at  int64 // where fr reads next, in the file
	buf []byte
}

var (
	_ io.Seeker   = (*reader)(nil)
	_ io.ReaderAt = (*reader)(nil)
)

// firstRead is what NewRangeReader reads at once.
const firstRead = 64 << 10

// testOpenHook, set by tests (export_test.go), runs in NewRangeReader
// with step 1 once the file is open and step 2 after its first read.
var testOpenHook atomic.Pointer[func(step int)]

func openHook(step int) {
	if h := testOpenHook.Load(); h != nil {
		(*h)(step)
	}
}

// inodePath names the inode id wherever it is. The client asks the
// namenode about a FileReader's file by name at each step (getFileInfo
// at Open, getBlockLocations at the first read): by this name every step
// finds the same file, where by the object's name a step could find
// another version put there meanwhile (and a check after the read could
// find the first back, moved away and back by renames).
func inodePath(id uint64) string { return "/.reserved/.inodes/" + strconv.FormatUint(id, 10) }

// NewRangeReader looks the name up (its attributes are those of the file
// found, bound to it by inode id: see attributes), opens that file by its
// inode path and reads the range's start at once: a version removed
// before that first read (ErrReplaced) is dropped for the one the name
// holds then, nothing having been handed out yet, so that a small object
// replaced in a loop is still read whole by an Open that reads at once.
func (b *bucket) NewRangeReader(ctx context.Context, name string, off, n int64) (driver.Reader, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		r, err := b.open(ctx, name, off, n)
		if errors.Is(err, ErrReplaced) && try < 10 {
			continue // removed before the first read: look the name up again
		}
		return r, err
	}
}

func (b *bucket) open(ctx context.Context, name string, off, n int64) (*reader, error) {
	r := &reader{ctx: ctx, b: b, name: name, p: b.path(name)}
	err := b.call(ctx, func() error {
		fi, a, err := b.stat(name, r.p)
		if err != nil {
			return err
		}
		r.attrs = a
		_, r.id = status(fi)
		size := fi.Size()
		r.start, r.end = min(off, size), size
		if n >= 0 && r.start+n < size {
			r.end = r.start + n
		}
		if r.start == r.end {
			return nil
		}
		if r.fr, err = b.c.Open(inodePath(r.id)); err != nil {
			if err = mapErr(name, err); errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%q: %w", name, ErrReplaced) // removed since the lookup
			}
			return err
		}
		openHook(1)
		buf := make([]byte, min(firstRead, r.end-r.start))
		k, err := r.readAt(buf, r.start)
		if err != nil && err != io.EOF {
			return err
		}
		r.buf = buf[:k]
		openHook(2)
		return nil
	})
	if err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *reader) Attributes() *driver.Attributes { return r.attrs }

func (r *reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fr != nil {
		fr := r.fr
		r.fr = nil
		return fr.Close()
	}
	return nil
}

// readAt reads from the file at off (absolute), with mu held or before
// the reader is handed out.
func (r *reader) readAt(p []byte, off int64) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	if r.fr == nil {
		return 0, fmt.Errorf("%q: %w", r.name, fs.ErrClosed)
	}
	_ = r.fr.SetDeadline(r.b.deadline(r.ctx))
	if r.at != off {
		if _, err := r.fr.Seek(off, io.SeekStart); err != nil {
			return 0, err
		}
		r.at = off
	}
	n, err := io.ReadFull(r.fr, p)
	r.at += int64(n)
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		return n, io.EOF
	case err != nil:
		return n, r.failed(err)
	}
	return n, nil
}

// failed explains a read error: the file replaced (and its blocks gone)
// is ErrReplaced.
func (r *reader) failed(err error) error {
	if cerr := r.ctx.Err(); cerr != nil {
		return cerr
	}
	if _, id, serr := fileInfo(r.b.c, r.name, r.p); errors.Is(serr, fs.ErrNotExist) || serr == nil && id != r.id {
		return fmt.Errorf("%q: %w", r.name, ErrReplaced)
	}
	return mapErr(r.name, err)
}

func (r *reader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pos < int64(len(r.buf)) {
		n := copy(p, r.buf[r.pos:])
		r.pos += int64(n)
		return n, nil
	}
	left := r.end - r.start - r.pos
	if left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	n, err := r.readAt(p, r.start+r.pos)
	r.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// ReadAt reads the range at off (relative to its start).
func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%w: negative offset", fs.ErrInvalid)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if off >= r.end-r.start {
		return 0, io.EOF
	}
	short := false
	if left := r.end - r.start - off; int64(len(p)) > left {
		p, short = p[:left], true
	}
	n, err := r.readAt(p, r.start+off)
	if err == nil && short {
		err = io.EOF
	}
	return n, err
}

func (r *reader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch whence {
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.end - r.start
	}
	if offset < 0 {
		return r.pos, fmt.Errorf("%w: negative position", fs.ErrInvalid)
	}
	r.pos = offset
	if r.pos >= int64(len(r.buf)) {
		r.buf = nil // read on from the file
	}
	return offset, nil
}
