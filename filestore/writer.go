package filestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"time"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// Writer writes one object, for content produced by writing rather than
// read from an io.Reader (Put's). It is gocloud.dev/blob's Writer: what
// is written is stored under the name only when Close succeeds, and
// replaces what was there at that moment, as Put does; until then
// readers see the name as it was. A Write error, ErrSizeMismatch or
// ErrDigestMismatch, an error of the reader ReadFrom reads, or the
// NewWriter ctx ending makes Close discard what was written and return
// that error. A Writer is used by one goroutine at a time.
//
// Close must be called, even after an error: it is what ends the upload
// (a temporary file in the store's reserved area on local disk and NFS,
// a multipart upload on S3). A Writer never closed — its process died —
// leaves nothing under the name either, only its temporary file or
// upload: local disk removes such files when the store is opened a day
// or more later; on NFS they stay in the reserved .filestore/tmp until
// removed by hand; S3 keeps the multipart upload until the bucket's
// lifecycle rule (AbortIncompleteMultipartUpload) removes it.
//
// Writes go through one buffer of the Store's buffer size
// (WithBufferSize), so small writes cost no call to the backend each;
// ReadFrom (io.Copy's way) reads straight into it.
type Writer struct {
	s    *Store
	ctx  context.Context
	op   string // "write", or "put" for Put
	name string
	opts PutOptions
	meta map[string]string // opts.Metadata, normalized
	w    driver.Writer
	h    hash.Hash
	n    int64   // bytes accepted
	buf  *[]byte // from s.bufs; nil once Close returned it
	fill int     // bytes of *buf not yet written to w
	// err is the first failure; once set, Writes return it and Close
	// discards the object and returns it.
	err      error
	closed   bool
	closeErr error
	info     *Info // once committed
}

// NewWriter returns a Writer for name; opts are Put's (nil means all
// defaults): with IfNotExist, Close fails with fs.ErrExist if the name
// exists by then; with SHA256 or Size, Close fails with ErrDigestMismatch
// or ErrSizeMismatch if the content does not match, and Write fails as
// soon as more than Size bytes come. ctx governs the whole write: once it
// ends, Writes fail and Close discards.
func (s *Store) NewWriter(ctx context.Context, name string, opts *PutOptions) (*Writer, error) {
	return s.newWriter(ctx, "write", name, opts)
}

func (s *Store) newWriter(ctx context.Context, op, name string, opts *PutOptions) (*Writer, error) {
	if err := s.check(op, name); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &PutOptions{}
	}
	var err error
	var meta map[string]string
	switch {
	case opts.SHA256 != nil && len(opts.SHA256) != sha256.Size:
		err = fmt.Errorf("%w: PutOptions.SHA256 has %d bytes, want %d", fs.ErrInvalid, len(opts.SHA256), sha256.Size)
	case opts.Size < 0:
		err = fmt.Errorf("%w: PutOptions.Size %d is negative", fs.ErrInvalid, opts.Size)
	default:
		meta, err = normalizeMetadata(opts.Metadata)
	}
	if err != nil {
		return nil, s.wrap(op, name, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	size := opts.Size
	if size == 0 {
		size = -1
	}
	if err := s.hold(); err != nil {
		return nil, err
	}
	w, err := s.b.NewWriter(ctx, name, &driver.WriterOptions{ContentType: opts.ContentType, Metadata: meta,
		IfNotExist: opts.IfNotExist, SHA256: opts.SHA256, Size: size})
	if err != nil {
		s.release()
		return nil, s.wrap(op, name, err)
	}
	return &Writer{s: s, ctx: ctx, op: op, name: name, opts: *opts, meta: meta, w: w, h: sha256.New(),
		buf: s.bufs.Get().(*[]byte)}, nil
}

// Write buffers p, writing to the backend each time the buffer fills.
// After Close it fails with fs.ErrClosed.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.usable(); err != nil {
		return 0, err
	}
	if err := w.accept(len(p)); err != nil {
		return 0, err
	}
	w.h.Write(p)
	n := 0
	for n < len(p) {
		if w.fill == len(*w.buf) {
			if err := w.flush(); err != nil {
				return n, err
			}
		}
		k := copy((*w.buf)[w.fill:], p[n:])
		w.fill += k
		n += k
	}
	return n, nil
}

// ReadFrom writes what r yields until io.EOF, reading straight into the
// Writer's buffer; io.Copy(w, r) calls it. An error of r fails the
// Writer as a Write error does: Close then discards.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		if err := w.usable(); err != nil {
			return total, err
		}
		if w.fill == len(*w.buf) {
			if err := w.flush(); err != nil {
				return total, err
			}
		}
		n, err := r.Read((*w.buf)[w.fill:])
		if n > 0 {
			if aerr := w.accept(n); aerr != nil {
				return total, aerr
			}
			w.h.Write((*w.buf)[w.fill : w.fill+n])
			w.fill += n
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			w.fail(sourceErr(err))
			return total, err
		}
	}
}

// sourceError is a failure of the reader ReadFrom reads — the caller's
// side, such as a client gone in the middle of an upload — which says
// nothing of the backend: the Service neither counts it against the
// backend's breaker nor retries or fails over on it.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

// sourceErr marks err as the source's; context errors stay as they are.
func sourceErr(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &sourceError{err}
}

// usable returns the error a Write meets now: the Writer closed or
// failed, or its ctx ended (which fails it).
func (w *Writer) usable() error {
	if w.closed {
		return fmt.Errorf("filestore: %s %q: %w: the Writer is closed", w.op, w.name, fs.ErrClosed)
	}
	if w.err == nil {
		if err := w.ctx.Err(); err != nil {
			w.fail(err)
		}
	}
	return w.err
}

// accept counts n more bytes, failing the Writer once they exceed the
// announced size: nothing past it is sent.
func (w *Writer) accept(n int) error {
	w.n += int64(n)
	if w.opts.Size > 0 && w.n > w.opts.Size {
		w.fail(fmt.Errorf("%w: more than the %d bytes announced", ErrSizeMismatch, w.opts.Size))
		return w.err
	}
	return nil
}

// flush writes the buffer to the backend.
func (w *Writer) flush() error {
	if w.fill == 0 {
		return nil
	}
	n, err := w.w.Write((*w.buf)[:w.fill])
	if err == nil && n < w.fill {
		err = io.ErrShortWrite
	}
	w.fill = 0
	if err != nil {
		if cerr := w.ctx.Err(); cerr != nil {
			err = cerr // what ended the write, as such
		}
		w.fail(err)
	}
	return w.err
}

// fail records the Writer's first failure, wrapped (context errors stay
// as they are).
func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = w.s.wrap(w.op, w.name, err)
	}
}

// Close stores what was written under the name, atomically, or, if
// anything failed (see Writer), discards it and returns why. It is
// idempotent: a second Close returns what the first did.
func (w *Writer) Close() error {
	if !w.closed {
		w.info, w.closeErr = w.close()
		if w.closeErr != nil {
			w.info = nil
		}
	}
	return w.closeErr
}

// close is Close, which also returns the Info of what was written when
// only the commit failed: the Service compares that digest with an
// object found under the name (IfNotExist's fs.ErrExist after a lost
// answer).
func (w *Writer) close() (*Info, error) {
	if w.closed {
		return w.info, w.closeErr
	}
	if err := w.usable(); err == nil {
		_ = w.flush()
	}
	w.closed = true
	defer w.s.release() // after the commit or abort: the backend may close then
	w.s.bufs.Put(w.buf)
	w.buf = nil
	sum := w.h.Sum(nil)
	switch {
	case w.err != nil:
	case w.s.closed.Load():
		w.err = ErrClosed
	case w.opts.Size > 0 && w.n != w.opts.Size:
		w.fail(fmt.Errorf("%w: got %d bytes, announced %d", ErrSizeMismatch, w.n, w.opts.Size))
	case w.opts.SHA256 != nil && !bytes.Equal(sum, w.opts.SHA256):
		w.fail(fmt.Errorf("%w: got %x, want %x", ErrDigestMismatch, sum, w.opts.SHA256))
	}
	if w.err != nil {
		_ = w.w.Abort()
		return nil, w.err
	}
	info := &Info{Name: w.name, Size: w.n, ModTime: time.Now(), SHA256: sum, ContentType: w.opts.ContentType, Metadata: maps.Clone(w.meta)}
	if err := w.w.Commit(sum); err != nil {
		_ = w.w.Abort()
		if cerr := w.ctx.Err(); cerr != nil {
			err = cerr // what ended the write, as such
		}
		w.fail(err)
		return info, w.err
	}
	return info, nil
}

// Info describes the object stored: nil until Close succeeded.
func (w *Writer) Info() *Info {
	if w.info == nil {
		return nil
	}
	c := *w.info
	return &c
}
