package filestore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/groundwork-go/groundwork/filestore/driver"
	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/resilience"
)

// Upload is a resumable upload: parts are stored as they come, recorded
// in the metadata, and assembled by Complete. It survives the process:
// ResumeUpload picks it up by ID, and Parts tells what is stored. On a
// backend with native multipart uploads (S3) the parts are the backend's
// (each but the last at least 5 MiB there); elsewhere each part is an
// object under the namespace's uploads/<id>/ and Complete streams them
// into the final object. An Upload is used by one goroutine at a time.
type Upload struct {
	svc *Service
	rec *UploadRecord
	b   *backend
	// done is the file once this Upload knows it complete (ResumeUpload
	// of a completed upload, or Complete).
	done *FileRecord
	// pending: this Complete created the file's pending record, counted
	// in the pending gauge until it returns.
	pending bool
}

// MaxParts bounds a resumable upload's part numbers.
const MaxParts = 10_000

// MaxPartSize is the largest part a resumable upload takes (S3's limit),
// and ServiceOptions.MaxPartSize's default.
const MaxPartSize = 5 << 30

// StartUpload begins a resumable upload on the first backend the policy
// allows whose breaker is closed.
func (svc *Service) StartUpload(ctx context.Context, opts UploadOptions) (_ *Upload, err error) {
	if err := svc.check(); err != nil {
		return nil, err
	}
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("filestore: start upload: %w", err)
	}
	meta, _ := normalizeMetadata(opts.Metadata) // checked
	id := newFileID()
	ctx, span := svc.tel.startSpan(ctx, opStartUpload)
	defer func() { endSpan(span, err) }()
	rec := &UploadRecord{ID: id, Options: opts, Path: svc.objectPath(id), Created: svc.now().UTC()}
	var errs []error
	for _, b := range svc.candidates(opts) {
		if span.IsRecording() {
			span.SetAttributes(attribute.String("filestore.upload_id", id), attribute.String("filestore.backend", b.name))
		}
		rec.Backend, rec.Native = b.name, ""
		start := time.Now()
		err := svc.startOn(ctx, b, rec, meta)
		svc.tel.observe(ctx, b, opStartUpload, start, err)
		if err == nil {
			return &Upload{svc: svc, rec: rec, b: b}, nil
		}
		errs = append(errs, wrapf(cause(err), "backend %q", b.name))
		if errors.Is(err, errMetadata) || !failover(err) {
			break
		}
	}
	return nil, opError(ctx, errors.Join(errs...), "filestore: start upload %q", opts.Name)
}

// abortTimeout bounds aborting a native upload that nothing else will
// name, after the caller's ctx ended.
const abortTimeout = 30 * time.Second

// errMetadata marks a failure of the metadata store, which no other
// backend would avoid.
var errMetadata = errors.New("metadata")

// startOn begins the upload rec on b: the native multipart upload where
// b has them (else a check that b's breaker is not open), then the
// record.
func (svc *Service) startOn(ctx context.Context, b *backend, rec *UploadRecord, meta map[string]string) error {
	mp, native := b.s.b.(driver.Multiparter)
	if native {
		err := b.call(ctx, func(ctx context.Context) error {
			var err error
			rec.Native, err = mp.CreateMultipart(ctx, rec.Path, &driver.WriterOptions{ContentType: rec.Options.ContentType, Metadata: meta, Size: -1})
			return err
		})
		if err != nil {
			return err
		}
	} else if b.br.State() == resilience.StateOpen {
		return ErrBackendDown
	}
	if err := svc.meta.PutUpload(ctx, rec); err != nil {
		if native {
			// Nothing will name the native upload: abort it now, even
			// if ctx ending is what failed the record.
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
			_ = b.call(actx, func(ctx context.Context) error { return mp.AbortMultipart(ctx, rec.Path, rec.Native) })
			cancel()
		}
		return fmt.Errorf("%w: %w", errMetadata, err)
	}
	return nil
}

// ResumeUpload picks up an upload started earlier, perhaps by another
// process. An upload already completed resumes too, so that a client
// retrying Complete after a lost answer gets the file: its Complete
// returns the file's record, and WritePart fails. An upload aborted, or
// completed and its file deleted since, is fs.ErrNotExist.
func (svc *Service) ResumeUpload(ctx context.Context, id string) (*Upload, error) {
	if err := svc.check(); err != nil {
		return nil, err
	}
	rec, err := svc.meta.GetUpload(ctx, id)
	if errors.Is(err, fs.ErrNotExist) {
		if f, ferr := svc.meta.GetFile(ctx, id); ferr == nil && f.State == FileReady {
			b, err := svc.backendNamed(f.Backend)
			if err != nil {
				return nil, fmt.Errorf("filestore: resume upload %q: %w", id, err)
			}
			return &Upload{svc: svc, rec: &UploadRecord{ID: id, Backend: f.Backend, Path: f.Path, Created: f.Created}, b: b, done: f}, nil
		}
		// The metadata store's message would name the ID again.
		return nil, fmt.Errorf("filestore: resume upload %q: %w (no upload has that ID: never started, aborted, or completed and its file deleted since)", id, fs.ErrNotExist)
	}
	if err != nil {
		return nil, opError(ctx, err, "filestore: resume upload %q", id)
	}
	b, err := svc.backendNamed(rec.Backend)
	if err != nil {
		return nil, fmt.Errorf("filestore: resume upload %q: %w", id, err)
	}
	return &Upload{svc: svc, rec: rec, b: b}, nil
}

// ID identifies the upload for ResumeUpload.
func (u *Upload) ID() string { return u.rec.ID }

// Parts returns the parts stored so far, by number: a client resumes
// after the last complete one. An upload completed or aborted has none:
// fs.ErrNotExist.
func (u *Upload) Parts(ctx context.Context) ([]PartRecord, error) {
	parts, err := u.svc.meta.Parts(ctx, u.rec.ID)
	if err != nil {
		return nil, opError(ctx, err, "filestore: upload %q: parts", u.rec.ID)
	}
	return parts, nil
}

func (u *Upload) partPath(n int) string { return fmt.Sprintf("%s%06d", partsDir(u.rec), n) }

// WritePart stores part n (1 to MaxParts) from r, replacing an earlier
// part n; it is recorded once stored whole. A part larger than
// ServiceOptions.MaxPartSize fails with fs.ErrInvalid, and ctx ending
// stops the copy at once.
func (u *Upload) WritePart(ctx context.Context, n int, r io.Reader) (_ PartRecord, err error) {
	if err := u.svc.check(); err != nil {
		return PartRecord{}, err
	}
	if n < 1 || n > MaxParts {
		return PartRecord{}, fmt.Errorf("filestore: upload %q: %w: part number %d (want 1 to %d)", u.rec.ID, fs.ErrInvalid, n, MaxParts)
	}
	if u.done != nil {
		return PartRecord{}, fmt.Errorf("filestore: upload %q: %w: it is complete", u.rec.ID, fs.ErrInvalid)
	}
	ctx, end := u.observe(ctx, opWritePart)
	defer func() { end(err) }()
	var p PartRecord
	if mp, ok := u.b.s.b.(driver.Multiparter); ok && u.rec.Native != "" {
		p, err = u.writeNativePart(ctx, mp, n, r)
	} else {
		var info *Info
		src := &countingReader{r: r}
		err = u.b.call(ctx, func(ctx context.Context) error {
			if err := src.rewind(); err != nil {
				return retrying.Permanent(err)
			}
			var err error
			info, err = u.b.s.Put(ctx, u.partPath(n), u.partSource(ctx, src), nil)
			return err
		})
		if err == nil {
			p = PartRecord{Number: n, Size: info.Size, SHA256: info.SHA256}
		}
	}
	if err != nil {
		return PartRecord{}, opError(ctx, cause(err), "filestore: upload %q part %d", u.rec.ID, n)
	}
	p.Stored = u.svc.now().UTC()
	if err := u.svc.meta.PutPart(ctx, u.rec.ID, p); err != nil {
		return PartRecord{}, opError(ctx, err, "filestore: upload %q part %d: metadata", u.rec.ID, n)
	}
	u.b.tel.uploaded.n.Add(p.Size)
	return p, nil
}

// observe starts the span of an operation on the upload and returns the
// function that ends it, counting the operation.
func (u *Upload) observe(ctx context.Context, o op) (context.Context, func(error)) {
	ctx, span := u.svc.tel.startSpan(ctx, o)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("filestore.upload_id", u.rec.ID), attribute.String("filestore.backend", u.b.name))
	}
	start := time.Now()
	return ctx, func(err error) {
		u.svc.tel.observe(ctx, u.b, o, start, err)
		endSpan(span, err)
	}
}

// partSource reads a part: it stops when ctx ends and fails once more
// than max bytes came, so that no client makes a part (or the file it is
// spooled to) grow without end.
type partSource struct {
	ctx context.Context
	r   io.Reader
	n   int64
	max int64
}

func (u *Upload) partSource(ctx context.Context, r io.Reader) *partSource {
	return &partSource{ctx: ctx, r: r, max: u.svc.o.MaxPartSize}
}

func (p *partSource) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	if p.n > p.max {
		return 0, fmt.Errorf("%w: the part is larger than %d bytes (ServiceOptions.MaxPartSize)", fs.ErrInvalid, p.max)
	}
	if int64(len(b)) > p.max-p.n+1 {
		b = b[:p.max-p.n+1] // never read further than one byte past the bound
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.n > p.max {
		return n, fmt.Errorf("%w: the part is larger than %d bytes (ServiceOptions.MaxPartSize)", fs.ErrInvalid, p.max)
	}
	return n, err
}

// writeNativePart spools the part to a temporary file (the backend needs
// its length and a body it can resend), hashing it on the way, then
// uploads it.
func (u *Upload) writeNativePart(ctx context.Context, mp driver.Multiparter, n int, r io.Reader) (PartRecord, error) {
	f, err := os.CreateTemp("", "filestore-part-*")
	if err != nil {
		return PartRecord{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(f, h), u.partSource(ctx, r))
	if err != nil {
		return PartRecord{}, err
	}
	var etag string
	err = u.b.call(ctx, func(ctx context.Context) error {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		var err error
		etag, err = mp.UploadPart(ctx, u.rec.Path, u.rec.Native, n, f, size)
		return err
	})
	return PartRecord{Number: n, Size: size, SHA256: h.Sum(nil), ETag: etag}, err
}

// Complete assembles the parts (1..N, none missing) into the file and
// returns its record (its ID is the upload's); the upload is then gone. It is idempotent:
// called again — a retry after a lost answer, from ResumeUpload in another
// process, or concurrently — it returns the same record while the file
// exists (observers hear of it once). The file's record is created
// pending, the object assembled, and then, in one metadata step
// (MetadataStore.CompleteUpload), the record is marked ready and the
// upload's record removed; the part objects go last. A Complete that
// failed before that step leaves everything the next one needs; once it
// is taken, no Complete can make the file again: after the file is
// deleted, or the upload aborted, Complete fails with fs.ErrNotExist.
func (u *Upload) Complete(ctx context.Context) (_ *FileRecord, err error) {
	if err := u.svc.check(); err != nil {
		return nil, err
	}
	ctx, end := u.observe(ctx, opComplete)
	defer func() {
		if u.pending { // ready now, or left pending for a retry or Cleanup
			u.svc.tel.pending.Add(-1)
			u.pending = false
		}
		end(err)
	}()
	if rec, err := u.readyFile(ctx); err != nil || rec != nil {
		return u.completed(ctx, rec, err)
	}
	parts, err := u.svc.meta.Parts(ctx, u.rec.ID)
	if errors.Is(err, fs.ErrNotExist) {
		// The upload went since: completed by another call (its file
		// ready, unless deleted since), or aborted.
		if rec, rerr := u.readyFile(ctx); rec != nil || rerr != nil {
			return u.completed(ctx, rec, rerr)
		}
		return nil, u.gone()
	}
	if err != nil {
		return nil, opError(ctx, err, "filestore: complete upload %q: metadata", u.rec.ID)
	}
	if err := u.checkParts(parts); err != nil {
		return nil, err
	}
	rec, err := u.pendingFile(ctx)
	if err != nil || rec.State == FileReady {
		return u.completed(ctx, rec, err)
	}
	if mp, ok := u.b.s.b.(driver.Multiparter); ok && u.rec.Native != "" {
		err = u.completeNative(ctx, mp, parts, rec)
	} else {
		err = u.compose(ctx, parts, rec)
	}
	if err == nil {
		ready := *rec
		ready.State = FileReady
		if err = u.svc.meta.CompleteUpload(ctx, &ready); err == nil {
			u.svc.emit(ctx, EventUploaded, &ready)
			return u.completed(ctx, &ready, nil)
		}
		err = wrapf(err, "metadata")
	}
	// Another Complete may have finished first (and removed the parts
	// this one was reading), or the metadata store's answer was lost
	// after the move: the file is ready either way.
	if ready, _ := u.readyFile(ctx); ready != nil {
		return u.completed(ctx, ready, nil)
	}
	return nil, u.failed(ctx, err)
}

// checkParts checks that parts are 1..N, none missing, and hold the
// size announced.
func (u *Upload) checkParts(parts []PartRecord) error {
	if len(parts) == 0 {
		return fmt.Errorf("filestore: complete upload %q: %w: no parts", u.rec.ID, fs.ErrInvalid)
	}
	var total int64
	for i, p := range parts {
		if p.Number != i+1 {
			return fmt.Errorf("filestore: complete upload %q: %w: part %d is missing", u.rec.ID, fs.ErrInvalid, i+1)
		}
		total += p.Size
	}
	if o := u.rec.Options; o.Size > 0 && total != o.Size {
		return fmt.Errorf("filestore: complete upload %q: %w: parts hold %d bytes, announced %d", u.rec.ID, ErrSizeMismatch, total, o.Size)
	}
	return nil
}

// gone is Complete's error for an upload whose record is gone and whose
// file is not ready.
func (u *Upload) gone() error {
	return fmt.Errorf("filestore: complete upload %q: %w: it was aborted, or completed and its file deleted since", u.rec.ID, fs.ErrNotExist)
}

// failed ends a Complete that could not make the file ready. While the
// upload's record exists, the pending record and the object stay for the
// next Complete (or Cleanup). Once it is gone, nothing can make this file
// ready any more (CompleteUpload needs it): the record a Complete made
// since, pending, is undone with its object, and the upload is
// fs.ErrNotExist.
func (u *Upload) failed(ctx context.Context, err error) error {
	if _, gerr := u.svc.meta.GetUpload(ctx, u.rec.ID); errors.Is(gerr, fs.ErrNotExist) {
		if f, ferr := u.svc.meta.GetFile(ctx, u.rec.ID); ferr == nil && f.State != FileReady {
			if uerr := u.svc.undo(ctx, f); uerr != nil && !errors.Is(uerr, errMoved) {
				u.svc.o.Logger.Warn("filestore: undoing the file of a gone upload failed; Cleanup will", "upload", u.rec.ID, "err", uerr)
			}
		}
		return u.gone()
	}
	return opError(ctx, cause(err), "filestore: complete upload %q", u.rec.ID)
}

// readyFile returns the upload's file if it is ready, nil if it is not
// (or has no record yet).
func (u *Upload) readyFile(ctx context.Context) (*FileRecord, error) {
	rec, err := u.svc.meta.GetFile(ctx, u.rec.ID)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, opError(ctx, err, "filestore: complete upload %q: metadata", u.rec.ID)
	case rec.State != FileReady:
		return nil, nil
	}
	return rec, nil
}

// pendingFile creates the file's record, pending, or takes over the one
// an earlier or concurrent Complete created (still pending: assembling
// again from the same parts yields the same object; or ready already).
func (u *Upload) pendingFile(ctx context.Context) (*FileRecord, error) {
	o := u.rec.Options
	rec := &FileRecord{ID: u.rec.ID, Name: o.Name, ContentType: o.ContentType, Owner: o.Owner, Backend: u.b.name,
		Path: u.rec.Path, Created: u.svc.now().UTC(), State: FilePending}
	err := u.svc.meta.CreateFile(ctx, rec)
	if err == nil {
		u.svc.tel.pending.Add(1)
		u.pending = true
	}
	if errors.Is(err, fs.ErrExist) {
		rec, err = u.svc.meta.GetFile(ctx, u.rec.ID)
		if err == nil && rec.State != FilePending && rec.State != FileReady {
			err = fmt.Errorf("%w: the file is %s (Cleanup is undoing an earlier attempt); try again", ErrConflict, rec.State)
		}
	}
	if err != nil {
		return nil, opError(ctx, err, "filestore: complete upload %q: metadata", u.rec.ID)
	}
	return rec, nil
}

// completed ends a Complete that found (or made) the file ready: what is
// left of the upload goes — its part objects, and its record if a file
// made before CompleteUpload existed still has one — as Abort removes
// them, which a ready file survives; a failure there is left to Cleanup.
func (u *Upload) completed(ctx context.Context, rec *FileRecord, err error) (*FileRecord, error) {
	if err != nil {
		return nil, err
	}
	if u.done == nil {
		if err := u.svc.abort(ctx, u.rec); err != nil && !errors.Is(err, fs.ErrNotExist) {
			u.svc.o.Logger.Warn("filestore: removing a completed upload's parts failed; they stay until a Cleanup with RemoveOrphans",
				"upload", u.rec.ID, "parts", partsDir(u.rec), "err", err)
		}
	}
	u.done = rec
	c := *rec
	return &c, nil
}

// compose streams the part objects, in order, into the final object (the
// Put computes the digest). The parts stay until the file is ready.
func (u *Upload) compose(ctx context.Context, parts []PartRecord, rec *FileRecord) error {
	o := u.rec.Options
	info, err := u.b.s.Put(ctx, rec.Path, &partsReader{ctx: ctx, u: u, parts: parts},
		&PutOptions{ContentType: o.ContentType, Metadata: o.Metadata, SHA256: o.SHA256})
	if err != nil {
		return err
	}
	rec.Size, rec.SHA256 = info.Size, info.SHA256
	return nil
}

// partsReader reads the part objects one after the other.
type partsReader struct {
	ctx   context.Context
	u     *Upload
	parts []PartRecord
	cur   io.ReadCloser
}

func (p *partsReader) Read(b []byte) (int, error) {
	for {
		if p.cur == nil {
			if len(p.parts) == 0 {
				return 0, io.EOF
			}
			r, err := p.u.b.s.Open(p.ctx, p.u.partPath(p.parts[0].Number))
			if err != nil {
				return 0, err
			}
			p.cur, p.parts = r, p.parts[1:]
		}
		n, err := p.cur.Read(b)
		if err == io.EOF {
			p.cur.Close()
			p.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

// completeNative has the backend assemble its parts, then reads the
// object once to compute its SHA-256 (no store can combine part digests),
// which is recorded in the metadata.
func (u *Upload) completeNative(ctx context.Context, mp driver.Multiparter, parts []PartRecord, rec *FileRecord) error {
	done := make([]driver.CompletedPart, len(parts))
	for i, p := range parts {
		done[i] = driver.CompletedPart{Number: p.Number, ETag: p.ETag}
	}
	err := u.b.call(ctx, func(ctx context.Context) error { return mp.CompleteMultipart(ctx, rec.Path, u.rec.Native, done) })
	if errors.Is(err, fs.ErrNotExist) {
		// No such multipart upload: an earlier or concurrent Complete
		// completed it if the object is there (its path is this
		// upload's alone); otherwise it was aborted.
		if _, serr := u.b.s.Stat(ctx, rec.Path); serr == nil {
			err = nil
		}
	}
	if err != nil {
		return err
	}
	r, err := u.b.s.Open(ctx, rec.Path)
	if err != nil {
		return err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return wrapf(cause(err), "reading the assembled object back for its SHA-256")
	}
	rec.Size, rec.SHA256 = n, h.Sum(nil)
	if want := u.rec.Options.SHA256; want != nil && string(want) != string(rec.SHA256) {
		_ = u.svc.removeObject(ctx, u.b, rec.Path)
		return fmt.Errorf("%w: got %x, want %x", ErrDigestMismatch, rec.SHA256, want)
	}
	return nil
}

// Abort discards the upload and its parts.
func (u *Upload) Abort(ctx context.Context) (err error) {
	if err := u.svc.check(); err != nil {
		return err
	}
	ctx, end := u.observe(ctx, opAbort)
	defer func() { end(err) }()
	if err := u.svc.abort(ctx, u.rec); err != nil {
		return opError(ctx, err, "filestore: abort upload %q", u.rec.ID)
	}
	return nil
}

// abort removes the upload rec: its parts (objects, or the native
// multipart upload), then its record — in that order, so that a crash
// between leaves the record for Cleanup to abort again. Once the record
// is gone no Complete can make the file ready (MetadataStore.CompleteUpload
// needs it), so a file a Complete had begun is undone: its pending record
// with its object, or the object alone where Cleanup undid the record
// before a Complete's object landed. An upload already gone is
// fs.ErrNotExist.
func (svc *Service) abort(ctx context.Context, rec *UploadRecord) error {
	b, err := svc.backendNamed(rec.Backend)
	if err != nil {
		return err
	}
	if mp, ok := b.s.b.(driver.Multiparter); ok && rec.Native != "" {
		err := b.call(ctx, func(ctx context.Context) error { return mp.AbortMultipart(ctx, rec.Path, rec.Native) })
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	} else {
		// Every part object, recorded or not (a crash may come between
		// storing a part and recording it).
		for info, err := range b.s.List(ctx, partsDir(rec)) {
			if err != nil {
				return err
			}
			if err := svc.removeObject(ctx, b, info.Name); err != nil {
				return err
			}
		}
	}
	if err := svc.meta.DeleteUpload(ctx, rec.ID); err != nil {
		return err
	}
	switch f, err := svc.meta.GetFile(ctx, rec.ID); {
	case errors.Is(err, fs.ErrNotExist):
		// No record, and none can become ready: an object there is a
		// Complete's that Cleanup undid before it landed.
		if err := svc.removeObject(ctx, b, rec.Path); err != nil {
			svc.o.Logger.Warn("filestore: removing the object of an aborted upload failed", "upload", rec.ID, "err", err)
		}
	case err == nil && f.State == FilePending:
		if err := svc.undo(ctx, f); err != nil && !errors.Is(err, errMoved) {
			svc.o.Logger.Warn("filestore: undoing the file of an aborted upload failed; Cleanup will", "upload", rec.ID, "err", err)
		}
	}
	return nil
}
