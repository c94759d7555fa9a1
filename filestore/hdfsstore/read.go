package hdfsstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/colinmarc/hdfs/v2"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// reader reads a range of one file version: the inode the name held at
// NewRangeReader, its blocks and its record asked for by its inode path
// (/.reserved/.inodes/<id>: see openPinned), so that every read — the
// block locations fetched at the first, Seek and ReadAt after — is of
// that inode, whatever the name holds meanwhile. Once that version is
// removed (replaced, deleted) and its blocks with it, reads fail, and
// fail with ErrReplaced.
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

// testNoRetarget, set by tests, makes openPinned take its fallback, as
// with a client whose FileReader retarget cannot point.
var testNoRetarget atomic.Bool

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

// NewRangeReader opens the file the name holds (its attributes are
// that inode's: see pinnedAttributes) and reads the range's start at
// once: a version removed before that first read (ErrReplaced) is
// dropped for the one the name holds then, nothing having been handed
// out yet, so that a small object replaced in a loop is still read whole
// by an Open that reads at once. Three namenode calls: getFileInfo by
// name, getXAttrs and getBlockLocations by inode path.
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
		fi, fr, err := b.openPinned(name, r.p)
		if err != nil {
			return err
		}
		r.fr = fr
		_, r.id = status(fi)
		openHook(1)
		if r.attrs, err = b.pinnedAttributes(name, fi, r.id); err != nil {
			return err
		}
		size := fi.Size()
		r.start, r.end = min(off, size), size
		if n >= 0 && r.start+n < size {
			r.end = r.start + n
		}
		if r.start == r.end {
			return nil
		}
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

// openPinned opens the file the name holds, as a FileReader that asks
// the namenode about that inode only: opened by name (getFileInfo, which
// gives the inode id), then pointed at its inode path, by which its one
// getBlockLocations (at the first read; the client never fetches them
// again) finds that inode whatever the name holds by then. Where the
// client cannot be pointed so (see retarget), it is opened again by
// inode path, one getFileInfo more.
func (b *bucket) openPinned(name, p string) (os.FileInfo, *hdfs.FileReader, error) {
	fr, err := b.c.Open(p)
	if err != nil {
		if exception(err) == parentNotDirException {
			return nil, nil, fmt.Errorf("%q: %w", name, fs.ErrNotExist)
		}
		return nil, nil, mapErr(name, err)
	}
	fi := fr.Stat()
	t, id := status(fi)
	if t != isFile {
		fr.Close()
		return nil, nil, fmt.Errorf("%q: %w (not a regular file)", name, fs.ErrNotExist)
	}
	if !testNoRetarget.Load() && retarget(fr, inodePath(id)) {
		return fi, fr, nil
	}
	fr.Close()
	if fr, err = b.c.Open(inodePath(id)); err != nil {
		if err = mapErr(name, err); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%q: %w", name, ErrReplaced) // removed since the lookup
		}
		return nil, nil, err
	}
	return fi, fr, nil
}

// retarget sets the name a FileReader asks the namenode about (its
// unexported field name, v2.4.0's; Name() and Stat() come from the file
// status and do not change). The field is checked: were a later client
// version to change it, retarget reports false and nothing is touched.
func retarget(fr *hdfs.FileReader, p string) bool {
	f := reflect.ValueOf(fr).Elem().FieldByName("name")
	if !f.IsValid() || f.Kind() != reflect.String {
		return false
	}
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().SetString(p)
	return true
}

// pinnedAttributes are the attributes of the inode id (whose status is
// fi) from its record, read by inode path, so that it is that file's
// whatever the name holds meanwhile. A record naming another inode was
// copied there from elsewhere (see stat): the file has none of its own.
// The inode removed since it was opened is ErrReplaced.
func (b *bucket) pinnedAttributes(name string, fi os.FileInfo, id uint64) (*driver.Attributes, error) {
	ip := inodePath(id)
	a, replaced, err := b.attributes(ip, name, fi, id)
	if err == nil && replaced && a != nil {
		a, replaced, err = b.foreign(ip, name, a)
	}
	switch {
	case err != nil:
		return nil, err
	case replaced:
		return nil, fmt.Errorf("%q: %w", name, ErrReplaced)
	}
	return a, nil
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
