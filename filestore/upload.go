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

	"github.com/groundwork-go/groundwork/filestore/driver"
	"github.com/groundwork-go/groundwork/internal/resilience"
)

// Upload is a resumable upload: parts are stored as they come, recorded
// in the metadata, and assembled by Complete. It survives the process:
// ResumeUpload picks it up by ID, and Parts tells what is stored. On a
// backend with native multipart uploads (S3) the parts are the backend's
// (each but the last at least 5 MiB there); elsewhere each part is an
// object under uploads/<id>/ and Complete streams them into the final
// object. An Upload is used by one goroutine at a time.
type Upload struct {
	svc *Service
	rec *UploadRecord
	b   *backend
}

// MaxParts bounds a resumable upload's part numbers.
const MaxParts = 10_000

// StartUpload begins a resumable upload on the first backend the policy
// allows whose breaker is closed.
func (svc *Service) StartUpload(ctx context.Context, opts UploadOptions) (*Upload, error) {
	if err := svc.check(); err != nil {
		return nil, err
	}
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("filestore: start upload: %w", err)
	}
	id := newFileID()
	rec := &UploadRecord{ID: id, Options: opts, Path: objectPath(id), Created: time.Now().UTC()}
	var errs []error
	for _, b := range svc.candidates(opts) {
		rec.Backend = b.name
		if mp, ok := b.s.b.(driver.Multiparter); ok {
			meta, err := normalizeMetadata(opts.Metadata)
			if err != nil {
				return nil, fmt.Errorf("filestore: start upload: %w", err)
			}
			err = b.call(ctx, func(ctx context.Context) error {
				var err error
				rec.Native, err = mp.CreateMultipart(ctx, rec.Path, &driver.WriterOptions{ContentType: opts.ContentType, Metadata: meta, Size: -1})
				return err
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("backend %q: %w", b.name, err))
				if failover(err) {
					continue
				}
				break
			}
		} else if b.br.State() == resilience.StateOpen {
			errs = append(errs, fmt.Errorf("backend %q: %w", b.name, ErrBackendDown))
			continue
		}
		if err := svc.meta.PutUpload(ctx, rec); err != nil {
			return nil, fmt.Errorf("filestore: start upload: metadata: %w", err)
		}
		return &Upload{svc: svc, rec: rec, b: b}, nil
	}
	return nil, fmt.Errorf("filestore: start upload %q: %w", opts.Name, errors.Join(errs...))
}

// ResumeUpload picks up an upload started earlier, perhaps by another
// process.
func (svc *Service) ResumeUpload(ctx context.Context, id string) (*Upload, error) {
	if err := svc.check(); err != nil {
		return nil, err
	}
	rec, err := svc.meta.GetUpload(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("filestore: resume upload %q: %w", id, err)
	}
	b, ok := svc.backends[rec.Backend]
	if !ok {
		return nil, fmt.Errorf("filestore: upload %q is on backend %q, which is not configured", id, rec.Backend)
	}
	return &Upload{svc: svc, rec: rec, b: b}, nil
}

// ID identifies the upload for ResumeUpload.
func (u *Upload) ID() string { return u.rec.ID }

// Parts returns the parts stored so far, by number: a client resumes
// after the last complete one.
func (u *Upload) Parts(ctx context.Context) ([]PartRecord, error) {
	return u.svc.meta.Parts(ctx, u.rec.ID)
}

func (u *Upload) partPath(n int) string { return fmt.Sprintf("uploads/%s/%06d", u.rec.ID, n) }

// WritePart stores part n (1 to MaxParts) from r, replacing an earlier
// part n; it is recorded once stored whole.
func (u *Upload) WritePart(ctx context.Context, n int, r io.Reader) (PartRecord, error) {
	if err := u.svc.check(); err != nil {
		return PartRecord{}, err
	}
	if n < 1 || n > MaxParts {
		return PartRecord{}, fmt.Errorf("filestore: upload %q: %w: part number %d (want 1 to %d)", u.rec.ID, fs.ErrInvalid, n, MaxParts)
	}
	var p PartRecord
	var err error
	if mp, ok := u.b.s.b.(driver.Multiparter); ok && u.rec.Native != "" {
		p, err = u.writeNativePart(ctx, mp, n, r)
	} else {
		var info *Info
		src := &countingReader{r: r}
		err = u.b.call(ctx, func(ctx context.Context) error {
			if err := src.rewind(); err != nil {
				return resilience.Permanent(err)
			}
			var err error
			info, err = u.b.s.Put(ctx, u.partPath(n), src, nil)
			return err
		})
		if err == nil {
			p = PartRecord{Number: n, Size: info.Size, SHA256: info.SHA256}
		}
	}
	if err != nil {
		return PartRecord{}, fmt.Errorf("filestore: upload %q part %d: %w", u.rec.ID, n, err)
	}
	if err := u.svc.meta.PutPart(ctx, u.rec.ID, p); err != nil {
		return PartRecord{}, fmt.Errorf("filestore: upload %q part %d: metadata: %w", u.rec.ID, n, err)
	}
	return p, nil
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
	size, err := io.Copy(io.MultiWriter(f, h), r)
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
// returns its ID and record; the upload is then gone.
func (u *Upload) Complete(ctx context.Context) (string, *FileRecord, error) {
	if err := u.svc.check(); err != nil {
		return "", nil, err
	}
	parts, err := u.Parts(ctx)
	if err != nil {
		return "", nil, err
	}
	if len(parts) == 0 {
		return "", nil, fmt.Errorf("filestore: complete upload %q: %w: no parts", u.rec.ID, fs.ErrInvalid)
	}
	var total int64
	for i, p := range parts {
		if p.Number != i+1 {
			return "", nil, fmt.Errorf("filestore: complete upload %q: %w: part %d is missing", u.rec.ID, fs.ErrInvalid, i+1)
		}
		total += p.Size
	}
	o := u.rec.Options
	if o.Size > 0 && total != o.Size {
		return "", nil, fmt.Errorf("filestore: complete upload %q: %w: parts hold %d bytes, announced %d", u.rec.ID, ErrSizeMismatch, total, o.Size)
	}
	rec := &FileRecord{ID: u.rec.ID, Name: o.Name, ContentType: o.ContentType, Owner: o.Owner, Backend: u.b.name,
		Path: u.rec.Path, Created: time.Now().UTC(), State: FilePending}
	if err := u.svc.meta.PutFile(ctx, rec); err != nil {
		return "", nil, fmt.Errorf("filestore: complete upload %q: metadata: %w", u.rec.ID, err)
	}
	if mp, ok := u.b.s.b.(driver.Multiparter); ok && u.rec.Native != "" {
		err = u.completeNative(ctx, mp, parts, rec)
	} else {
		err = u.compose(ctx, parts, rec)
	}
	if err != nil {
		return "", nil, fmt.Errorf("filestore: complete upload %q: %w", u.rec.ID, err)
	}
	rec.State = FileReady
	if err := u.svc.meta.PutFile(ctx, rec); err != nil {
		return "", nil, fmt.Errorf("filestore: complete upload %q: metadata: %w", u.rec.ID, err)
	}
	if err := u.svc.meta.DeleteUpload(ctx, u.rec.ID); err != nil {
		u.svc.o.Logger.Warn("filestore: removing a completed upload's record failed; Cleanup will", "upload", u.rec.ID, "err", err)
	}
	u.svc.emit(ctx, EventUploaded, rec)
	return rec.ID, rec, nil
}

// compose streams the part objects, in order, into the final object (the
// Put computes the digest), then deletes them.
func (u *Upload) compose(ctx context.Context, parts []PartRecord, rec *FileRecord) error {
	o := u.rec.Options
	info, err := u.b.s.Put(ctx, rec.Path, &partsReader{ctx: ctx, u: u, parts: parts},
		&PutOptions{ContentType: o.ContentType, Metadata: o.Metadata, SHA256: o.SHA256})
	if err != nil {
		return err
	}
	rec.Size, rec.SHA256 = info.Size, info.SHA256
	for _, p := range parts {
		if err := u.svc.removeObject(ctx, u.b, u.partPath(p.Number)); err != nil {
			u.svc.o.Logger.Warn("filestore: deleting a composed part failed", "upload", u.rec.ID, "part", p.Number, "err", err)
		}
	}
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
	if err := u.b.call(ctx, func(ctx context.Context) error { return mp.CompleteMultipart(ctx, rec.Path, u.rec.Native, done) }); err != nil {
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
		return fmt.Errorf("reading the assembled object back for its SHA-256: %w", err)
	}
	rec.Size, rec.SHA256 = n, h.Sum(nil)
	if want := u.rec.Options.SHA256; want != nil && string(want) != string(rec.SHA256) {
		_ = u.svc.removeObject(ctx, u.b, rec.Path)
		return fmt.Errorf("%w: got %x, want %x", ErrDigestMismatch, rec.SHA256, want)
	}
	return nil
}

// Abort discards the upload and its parts.
func (u *Upload) Abort(ctx context.Context) error {
	if err := u.svc.check(); err != nil {
		return err
	}
	return u.svc.abort(ctx, u.rec)
}

func (svc *Service) abort(ctx context.Context, rec *UploadRecord) error {
	b, ok := svc.backends[rec.Backend]
	if !ok {
		return fmt.Errorf("upload %q is on backend %q, which is not configured", rec.ID, rec.Backend)
	}
	if mp, ok := b.s.b.(driver.Multiparter); ok && rec.Native != "" {
		err := b.call(ctx, func(ctx context.Context) error { return mp.AbortMultipart(ctx, rec.Path, rec.Native) })
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	} else {
		// Every part object, recorded or not (a crash may come between
		// storing a part and recording it).
		for info, err := range b.s.List(ctx, "uploads/"+rec.ID+"/") {
			if err != nil {
				return err
			}
			if err := svc.removeObject(ctx, b, info.Name); err != nil {
				return err
			}
		}
	}
	return svc.meta.DeleteUpload(ctx, rec.ID)
}
