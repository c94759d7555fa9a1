package filestore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// Reader reads one object: an io.ReadSeekCloser and an io.ReaderAt. Where
// the backend seeks and reads at offsets natively (local disk, memory,
// NFS) it does so; elsewhere a Seek reopens the object at the new offset
// on the next Read, and ReadAt reads a range. Every read is of the
// version Open found: a re-read that would meet a newer one fails with
// ErrReplaced (S3 asks for the opened ETag with If-Match). The ctx given
// to Store.Open governs the Reader until Close.
type Reader struct {
	s     *Store
	ctx   context.Context
	name  string
	info  *Info
	attrs *driver.Attributes // as opened: what re-reads must still find
	// counted, when set (the Service's downloads), adds the bytes read.
	counted *atomic.Int64

	mu     sync.Mutex // Read, Seek and Close; ReadAt needs no lock
	r      io.ReadCloser
	rpos   int64 // the offset r reads next
	pos    int64 // the offset Read reads next
	closed bool
	// seeker and ra are r itself when the backend's reader seeks and
	// reads at offsets natively; r is then never replaced.
	seeker io.Seeker
	ra     io.ReaderAt
}

// Open opens name for reading.
func (s *Store) Open(ctx context.Context, name string) (*Reader, error) {
	if err := s.check("open", name); err != nil {
		return nil, err
	}
	r, err := s.b.NewRangeReader(ctx, name, 0, -1)
	if err != nil {
		return nil, s.wrap("open", name, err)
	}
	rd := &Reader{s: s, ctx: ctx, name: name, info: infoOf(name, r.Attributes()), attrs: r.Attributes(), r: r}
	if sk, ok := r.(io.Seeker); ok {
		if ra, ok := r.(io.ReaderAt); ok {
			rd.seeker, rd.ra = sk, ra
		}
	}
	return rd, nil
}

// Info describes the object being read.
func (r *Reader) Info() *Info { return r.info }

// Size is the object's length.
func (r *Reader) Size() int64 { return r.info.Size }

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, fmt.Errorf("filestore: read %q: %w", r.name, fs.ErrClosed)
	}
	if r.pos >= r.info.Size {
		return 0, io.EOF
	}
	if r.rpos != r.pos {
		if err := r.reopen(); err != nil {
			return 0, err
		}
	}
	n, err := r.r.Read(p)
	r.pos += int64(n)
	r.rpos = r.pos
	r.count(n)
	if err != nil && err != io.EOF {
		err = r.s.wrap("read", r.name, err)
	}
	return n, err
}

func (r *Reader) count(n int) {
	if r.counted != nil && n > 0 {
		r.counted.Add(int64(n))
	}
}

// rangeReader reads n bytes from off of the version opened: by version
// where the backend reads by one (one request, the attributes known
// already), else by a range read whose attributes must match those seen
// at Open.
func (r *Reader) rangeReader(off, n int64) (io.ReadCloser, error) {
	if vr, ok := r.s.b.(driver.VersionReader); ok && r.attrs.Version != "" {
		rc, err := vr.NewVersionRangeReader(r.ctx, r.name, r.attrs.Version, off, n)
		if err != nil {
			return nil, r.s.wrap("read", r.name, err)
		}
		return rc, nil
	}
	rr, err := r.s.b.NewRangeReader(r.ctx, r.name, off, n)
	if err != nil {
		return nil, r.s.wrap("read", r.name, err)
	}
	if !sameVersion(r.attrs, rr.Attributes()) {
		_ = rr.Close()
		return nil, r.s.wrap("read", r.name, driver.ErrReplaced)
	}
	return rr, nil
}

// sameVersion reports whether b describes the version a does, as far as
// the backend tells: version name, size, time and digest.
func sameVersion(a, b *driver.Attributes) bool {
	return a.Version == b.Version && a.Size == b.Size && a.ModTime.Equal(b.ModTime) && bytes.Equal(a.SHA256, b.SHA256)
}

// reopen points the stream at pos: by seeking where the backend's reader
// seeks, else by a new range read.
func (r *Reader) reopen() error {
	if r.seeker != nil {
		if _, err := r.seeker.Seek(r.pos, io.SeekStart); err != nil {
			return r.s.wrap("seek", r.name, err)
		}
		r.rpos = r.pos
		return nil
	}
	_ = r.r.Close()
	r.r = io.NopCloser(eofReader{}) // until replaced: Close must not close the old one twice
	nr, err := r.rangeReader(r.pos, -1)
	if err != nil {
		return err
	}
	r.r, r.rpos = nr, r.pos
	return nil
}

// Seek implements io.Seeker.
func (r *Reader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.info.Size
	default:
		return r.pos, fmt.Errorf("filestore: seek %q: %w: whence %d", r.name, fs.ErrInvalid, whence)
	}
	if offset < 0 {
		return r.pos, fmt.Errorf("filestore: seek %q: %w: negative position %d", r.name, fs.ErrInvalid, offset)
	}
	r.pos = offset
	return offset, nil
}

// ReadAt implements io.ReaderAt; it may be called concurrently with
// itself and with Read.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("filestore: read %q: %w: negative offset %d", r.name, fs.ErrInvalid, off)
	}
	if r.ra != nil {
		n, err := r.ra.ReadAt(p, off)
		r.count(n)
		if err != nil && err != io.EOF {
			err = r.s.wrap("read", r.name, err)
		}
		return n, err
	}
	if off >= r.info.Size {
		return 0, io.EOF
	}
	rr, err := r.rangeReader(off, min(int64(len(p)), r.info.Size-off))
	if err != nil {
		return 0, err
	}
	defer rr.Close()
	n, err := io.ReadFull(rr, p)
	r.count(n)
	switch {
	case err == io.ErrUnexpectedEOF:
		err = io.EOF
	case err != nil && err != io.EOF:
		err = r.s.wrap("read", r.name, err)
	}
	return n, err
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// Close implements io.Closer.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	return r.r.Close()
}
