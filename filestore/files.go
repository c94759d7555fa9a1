package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

// Stat returns a ready file's record.
func (svc *Service) Stat(ctx context.Context, id string) (*FileRecord, error) {
	return svc.stat(ctx, "stat", id)
}

// stat returns the ready file id for the operation op.
func (svc *Service) stat(ctx context.Context, op, id string) (*FileRecord, error) {
	if err := svc.check(); err != nil {
		return nil, err
	}
	rec, err := svc.meta.GetFile(ctx, id)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// The metadata store's message would name the ID again.
		return nil, fmt.Errorf("filestore: %s %q: %w", op, id, fs.ErrNotExist)
	case err != nil:
		return nil, opError(ctx, err, "filestore: %s %q: metadata", op, id)
	case rec.State != FileReady:
		return nil, fmt.Errorf("filestore: %s %q: %w (its record is %s)", op, id, fs.ErrNotExist, rec.State)
	}
	return rec, nil
}

// Backend returns the store configured under name (a Backend's Name or
// one of its Aliases), or nil.
func (svc *Service) Backend(name string) *Store {
	if b, ok := svc.backends[name]; ok {
		return b.s
	}
	return nil
}

// backendNamed returns the backend a record names, by its name or an
// alias.
func (svc *Service) backendNamed(name string) (*backend, error) {
	b, ok := svc.backends[name]
	if !ok {
		return nil, fmt.Errorf("its backend %q is not configured (configure a Backend of that Name, or list %q in the Aliases of the one that holds its files)", name, name)
	}
	return b, nil
}

// Download opens a file for reading. A backend whose breaker is open
// fails at once with ErrBackendDown.
// The span covers opening, not reading: the Reader outlives the call.
func (svc *Service) Download(ctx context.Context, id string) (_ *Reader, _ *FileRecord, err error) {
	spanCtx, span := svc.tel.startSpan(ctx, opDownload)
	defer func() { endSpan(span, err) }()
	if span.IsRecording() {
		span.SetAttributes(attribute.String("filestore.file_id", id))
	}
	rec, err := svc.stat(spanCtx, "download", id)
	if err != nil {
		return nil, nil, err
	}
	b, err := svc.backendNamed(rec.Backend)
	if err != nil {
		return nil, nil, fmt.Errorf("filestore: download %q: %w", id, err)
	}
	start := time.Now()
	var rd *Reader
	err = b.call(spanCtx, func(context.Context) error {
		var err error
		rd, err = b.s.Open(ctx, rec.Path) // the caller's ctx: it governs the Reader
		return err
	})
	svc.tel.observe(spanCtx, b, opDownload, start, err)
	if err != nil {
		return nil, nil, opError(ctx, cause(err), "filestore: download %q from backend %q", id, b.name)
	}
	rd.counted = &b.tel.downloaded.n
	return rd, rec, nil
}

// Delete removes a file: its record is marked deleting (invisible; a
// compare-and-set from ready, so that of concurrent Deletes one goes on
// and the others find no file), the object deleted, then the record.
func (svc *Service) Delete(ctx context.Context, id string) (err error) {
	ctx, span := svc.tel.startSpan(ctx, opDelete)
	defer func() { endSpan(span, err) }()
	if span.IsRecording() {
		span.SetAttributes(attribute.String("filestore.file_id", id))
	}
	rec, err := svc.stat(ctx, "delete", id)
	if err != nil {
		return err
	}
	b, err := svc.backendNamed(rec.Backend)
	if err != nil {
		return fmt.Errorf("filestore: delete %q: %w", id, err)
	}
	start := time.Now()
	defer func() { svc.tel.observe(ctx, b, opDelete, start, err) }()
	rec.State = FileDeleting
	if err := svc.meta.UpdateFile(ctx, rec, FileReady); errors.Is(err, ErrConflict) {
		return fmt.Errorf("filestore: delete %q: %w (deleted concurrently)", id, fs.ErrNotExist)
	} else if err != nil {
		return opError(ctx, err, "filestore: delete %q: metadata", id)
	}
	if err := svc.removeObject(ctx, b, rec.Path); err != nil {
		return opError(ctx, cause(err), "filestore: delete %q from backend %q", id, b.name)
	}
	if err := svc.meta.DeleteFile(ctx, id); err != nil && !errors.Is(err, fs.ErrNotExist) { // gone: Cleanup finished it
		return opError(ctx, err, "filestore: delete %q: metadata", id)
	}
	svc.emit(ctx, EventDeleted, rec)
	return nil
}

// removeObject deletes path; one already gone is fine.
func (svc *Service) removeObject(ctx context.Context, b *backend, path string) error {
	err := b.call(ctx, func(ctx context.Context) error { return b.s.Delete(ctx, path) })
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
