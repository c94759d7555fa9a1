package hdfsstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"

	"github.com/colinmarc/hdfs/v2"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// reader reads a range of one file through a FileReader, which fetches
// the locations of all the file's blocks at its first read and from then
// on reads those blocks: it is pinned to the version it opened, through
// Seek and ReadAt too. Once that version is replaced and its blocks are
// removed, reads fail, and fail with ErrReplaced.
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

// firstRead is what NewRangeReader reads at once, fetching the block
// locations.
const firstRead = 64 << 10

// NewRangeReader opens the file and reads the range's start at once: the
// client asks for the blocks' locations by name at that first read, so a
// file replaced between the open and the read would give the new
// version's blocks with the old one's size. The name is then looked up
// again: the same file (by its inode id), and the blocks are that file's;
// another (or blocks gone, the file replaced and removed meanwhile), and
// the open starts over, nothing having been handed out yet.
func (b *bucket) NewRangeReader(ctx context.Context, name string, off, n int64) (driver.Reader, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	p := b.path(name)
	for try := 0; ; try++ {
		r, same, err := b.open(ctx, name, p, off, n)
		if errors.Is(err, ErrReplaced) && try < 10 {
			continue // its blocks went before the first read: open the new one
		}
		if err != nil || same || try == 10 {
			return r, err
		}
	}
}

func (b *bucket) open(ctx context.Context, name, p string, off, n int64) (*reader, bool, error) {
	r := &reader{ctx: ctx, b: b, name: name, p: p}
	err := b.call(ctx, func() error {
		fi, a, err := b.stat(name, p)
		if err != nil {
			return err
		}
		r.attrs = a
		_, r.id = status(fi)
		size := fi.Size()
		r.start = min(off, size)
		r.end = size
		if n >= 0 && r.start+n < size {
			r.end = r.start + n
		}
		if r.start == r.end {
			return nil
		}
		if r.fr, err = b.c.Open(p); err != nil {
			return mapErr(name, err)
		}
		if _, id := status(r.fr.Stat()); id != r.id {
			r.id = 0 // replaced between the two
			return nil
		}
		buf := make([]byte, min(firstRead, r.end-r.start))
		k, err := r.readAt(buf, r.start)
		if err != nil && err != io.EOF {
			return err
		}
		r.buf = buf[:k]
		return nil
	})
	if err != nil {
		r.Close()
		return nil, false, err
	}
	if r.fr == nil {
		return r, r.start == r.end, nil
	}
	var same bool
	err = b.call(ctx, func() error {
		_, id, err := fileInfo(b.c, name, p)
		same = err == nil && id == r.id
		return nil
	})
	if err != nil || !same {
		r.Close()
		return nil, false, err
	}
	return r, true, nil
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
	return err
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
