package filestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/groundwork-go/groundwork/internal/retrying"
)

// errConsumed: a failed attempt read part of a reader that cannot rewind,
// so no other backend can be tried.
var errConsumed = errors.New("filestore: the upload's reader was partly consumed and cannot be rewound")

// countingReader counts what was read, to know whether a failed attempt
// may be repeated.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// rewind readies r for another attempt.
func (c *countingReader) rewind() error {
	if c.n == 0 {
		return nil
	}
	s, ok := c.r.(io.Seeker)
	if !ok {
		return errConsumed
	}
	if _, err := s.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("%w: %v", errConsumed, err)
	}
	c.n = 0
	return nil
}

// Upload stores what r yields as a new file and returns its record
// (FileRecord.ID identifies it for Download and Delete). The backend comes from the policy; if it fails (or its breaker
// is open), the upload moves to the next backend the policy allows — not
// when r fails, which is no backend's fault and counts against none — from
// the start of r, which must then be an io.Seeker unless nothing was read
// yet. The record is written before the object (pending) and marked ready
// after it (compare-and-set), so that no record ever points at a missing
// object. A retried Put that finds the object an earlier attempt stored
// (its answer lost) succeeds if the content is the same (its SHA-256, read
// back when the backend knows none); a failed attempt's object and record
// are removed, or left pending for Cleanup when the backend cannot be
// reached. An upload that outlived StaleAfter before its record was
// marked ready may have been undone by Cleanup meanwhile: it fails with
// ErrConflict, and its object is removed.
func (svc *Service) Upload(ctx context.Context, r io.Reader, opts UploadOptions) (_ *FileRecord, err error) {
	if err := svc.check(); err != nil {
		return nil, err
	}
	if err := opts.check(); err != nil {
		return nil, fmt.Errorf("filestore: upload: %w", err)
	}
	ctx, span := svc.tel.startSpan(ctx, opUpload)
	defer func() { endSpan(span, err) }()
	src := &countingReader{r: r}
	putOpts := &PutOptions{ContentType: opts.ContentType, Metadata: opts.Metadata, SHA256: opts.SHA256, Size: opts.Size, IfNotExist: true}
	var errs []error
	cands := svc.candidates(opts)
	for i, b := range cands {
		// An ID per attempt: a failed attempt's record may have to stay
		// (pending, for Cleanup) while the next one goes elsewhere.
		id := newFileID()
		rec := &FileRecord{ID: id, Name: opts.Name, ContentType: opts.ContentType, Owner: opts.Owner, Backend: b.name,
			Path: svc.objectPath(id), Created: svc.now().UTC(), State: FilePending}
		if span.IsRecording() {
			span.SetAttributes(attribute.String("filestore.file_id", id), attribute.String("filestore.backend", b.name))
		}
		if err := svc.meta.CreateFile(ctx, rec); err != nil {
			return nil, opError(ctx, err, "filestore: upload %q: metadata", opts.Name)
		}
		svc.tel.pending.Add(1)
		start := time.Now()
		var info *Info
		err := b.call(ctx, func(ctx context.Context) error {
			if err := src.rewind(); err != nil {
				return retrying.Permanent(err)
			}
			var err error
			info, err = b.s.put(ctx, rec.Path, src, putOpts)
			if errors.Is(err, fs.ErrExist) && info != nil && svc.landed(ctx, b, rec.Path, info) {
				return nil // an earlier attempt stored it; its answer was lost
			}
			return err
		})
		if err == nil {
			ready := *rec
			ready.Size, ready.SHA256, ready.State = info.Size, info.SHA256, FileReady
			err = svc.meta.UpdateFile(ctx, &ready, FilePending)
			switch {
			case errors.Is(err, ErrConflict) || errors.Is(err, fs.ErrNotExist):
				// Only this call moves this ID, so Cleanup did: it took
				// the upload, older than StaleAfter, for abandoned and is
				// undoing it (deleting) or has (no record). Its object may
				// have landed after Cleanup removed what was there.
				if rerr := svc.removeObject(ctx, b, rec.Path); rerr != nil {
					svc.o.Logger.Warn("filestore: removing the object of an upload Cleanup undid failed", "id", id, "err", rerr)
				}
				err = fmt.Errorf("%w: Cleanup undid the upload, which took longer than StaleAfter", ErrConflict)
			case err != nil:
				// The answer may be what failed: only this call makes
				// this ID ready, so a ready record is this call's.
				if cur, gerr := svc.meta.GetFile(ctx, id); gerr == nil && cur.State == FileReady {
					ready, err = *cur, nil
				}
			}
			svc.tel.pending.Add(-1)
			svc.tel.observe(ctx, b, opUpload, start, err)
			if err != nil {
				// Unless Cleanup undid it, the object stays, its record
				// pending: Cleanup removes both.
				return nil, opError(ctx, err, "filestore: upload %q: metadata", opts.Name)
			}
			b.tel.uploaded.n.Add(info.Size)
			svc.emit(ctx, EventUploaded, &ready)
			return &ready, nil
		}
		svc.tel.observe(ctx, b, opUpload, start, err)
		errs = append(errs, wrapf(cause(err), "backend %q", b.name))
		svc.discard(ctx, b, rec)
		svc.tel.pending.Add(-1)
		if i == len(cands)-1 || !failover(err) || src.rewind() != nil {
			break
		}
		svc.o.Logger.Warn("filestore: upload failed over to the next backend", "from", b.name, "err", err)
	}
	return nil, opError(ctx, errors.Join(errs...), "filestore: upload %q", opts.Name)
}

// landed reports whether the object at path is the content info
// describes: same size and SHA-256. An IfNotExist Put meets its own
// earlier attempt this way when that attempt's commit succeeded but its
// answer was lost; the path holds a fresh ID, so nobody else writes there.
// Where the backend knows no digest for the object (S3 records a large
// upload's digest after the commit, whose answer was what got lost), the
// object is read back once to compute it: an object that may be this
// upload's own is never taken for another without that proof.
func (svc *Service) landed(ctx context.Context, b *backend, path string, info *Info) bool {
	st, err := b.s.Stat(ctx, path)
	if err != nil || st.Size != info.Size {
		return false
	}
	if st.SHA256 != nil {
		return bytes.Equal(st.SHA256, info.SHA256)
	}
	r, err := b.s.Open(ctx, path)
	if err != nil {
		return false
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	return err == nil && n == info.Size && bytes.Equal(h.Sum(nil), info.SHA256)
}

// discard undoes a failed upload attempt: its object (a commit may have
// landed unseen), then its record. If the object cannot be removed, the
// record stays pending so that Cleanup removes both later.
func (svc *Service) discard(ctx context.Context, b *backend, rec *FileRecord) {
	if err := svc.removeObject(ctx, b, rec.Path); err != nil {
		svc.o.Logger.Warn("filestore: removing a failed upload's object failed; Cleanup will", "id", rec.ID, "err", err)
		return
	}
	if err := svc.meta.DeleteFile(ctx, rec.ID); err != nil {
		svc.o.Logger.Warn("filestore: removing the record of a failed upload failed; Cleanup will", "id", rec.ID, "err", err)
	}
}

// failover reports whether an upload that failed with err may go on to
// another backend: not if the content or the caller is at fault.
func failover(err error) bool {
	return backendFailure(err) || errors.Is(err, ErrBackendDown)
}
