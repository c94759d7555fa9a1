package filestore

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"
	"time"
)

// Cleanup finishes what crashed or abandoned operations left, older than
// StaleAfter: pending records (an upload that never completed) lose their
// object and record (moved to deleting first, by compare-and-set, so that
// an upload finishing meanwhile wins), deleting ones are deleted, and
// resumable uploads idle since StaleAfter (no part stored) are aborted
// with their parts. With ServiceOptions.RemoveOrphans it also removes
// objects in the Service's Namespace that no record names: it lists the
// namespace in every backend (each Store once, whatever names it is
// configured under) and looks each object older than StaleAfter up in
// the metadata, so its cost grows with the number of files.
func (svc *Service) Cleanup(ctx context.Context) (err error) {
	if err := svc.check(); err != nil {
		return err
	}
	ctx, span := svc.tel.tracer.Start(ctx, spanCleanup)
	defer func() { endSpan(span, err) }()
	before := svc.now().Add(-svc.o.StaleAfter)
	errs, err := svc.cleanFiles(ctx, before)
	if err != nil {
		return opError(ctx, err, "filestore: cleanup")
	}
	uploads, err := svc.meta.StaleUploads(ctx, before)
	if err != nil {
		return opError(ctx, err, "filestore: cleanup")
	}
	for _, u := range uploads {
		if err := svc.abort(ctx, u); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, wrapf(cause(err), "upload %q", u.ID))
			continue
		}
		svc.tel.cleaned[cleanStaleUpload].n.Add(1)
	}
	if svc.o.RemoveOrphans {
		errs = append(errs, svc.cleanOrphans(ctx, before)...)
	}
	if len(errs) > 0 {
		return opError(ctx, errors.Join(errs...), "filestore: cleanup")
	}
	return nil
}

// cleanFiles removes stale pending and deleting records with their
// objects; err is set when the stale records cannot be listed.
func (svc *Service) cleanFiles(ctx context.Context, before time.Time) (errs []error, err error) {
	files, err := svc.meta.StaleFiles(ctx, before)
	if err != nil {
		return nil, err
	}
	for _, rec := range files {
		switch err := svc.undo(ctx, rec); {
		case errors.Is(err, errMoved):
		case err != nil:
			errs = append(errs, wrapf(cause(err), "file %q", rec.ID))
		default:
			svc.tel.cleaned[cleanStaleFile].n.Add(1)
		}
	}
	return errs, nil
}

// errMoved: undo found the record moved on (made ready, or undone)
// before it could claim it.
var errMoved = errors.New("the record moved meanwhile")

// undo removes a file that is not ready, and its object: a pending record
// is first moved to deleting (compare-and-set), so that of an undo and a
// completion racing exactly one wins; a deleting one is finished. A crash
// half-way leaves a deleting record, which Cleanup finishes.
func (svc *Service) undo(ctx context.Context, rec *FileRecord) error {
	switch rec.State {
	case FileReady:
		return errMoved // never a ready file's object
	case FilePending:
		del := *rec
		del.State = FileDeleting
		if err := svc.meta.UpdateFile(ctx, &del, FilePending); errors.Is(err, ErrConflict) || errors.Is(err, fs.ErrNotExist) {
			return errMoved
		} else if err != nil {
			return err
		}
	}
	b, err := svc.backendNamed(rec.Backend)
	if err != nil {
		// Keep the record, so that its object is removed once the
		// backend is configured again.
		return err
	}
	if err := svc.removeObject(ctx, b, rec.Path); err != nil {
		return err
	}
	if err := svc.meta.DeleteFile(ctx, rec.ID); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// cleanOrphans removes objects in the namespace older than before that no
// record names: what an upload left when its commit landed after the
// Service gave up on it, or parts a finished upload could not delete.
// Records are written before their objects and removed after them, so an
// object without one is never an upload in progress. Each Store is
// listed once, however many backends of ServiceOptions.Backends it is.
func (svc *Service) cleanOrphans(ctx context.Context, before time.Time) []error {
	var errs []error
	listed := map[*Store]bool{}
	for _, b := range svc.list {
		name := b.name
		if listed[b.s] {
			continue
		}
		listed[b.s] = true
		for _, prefix := range []string{svc.o.Namespace + filesDir, svc.o.Namespace + uploadsDir} {
			for info, err := range b.s.List(ctx, prefix) {
				if err != nil {
					errs = append(errs, wrapf(cause(err), "backend %q: listing %s", name, prefix))
					break
				}
				if !info.ModTime.Before(before) {
					continue
				}
				orphan, err := svc.orphan(ctx, info.Name)
				if err == nil && orphan {
					if err = svc.removeObject(ctx, b, info.Name); err == nil {
						svc.tel.cleaned[cleanOrphan].n.Add(1)
					}
				}
				if err != nil {
					errs = append(errs, wrapf(cause(err), "backend %q: %s", name, info.Name))
				}
			}
		}
	}
	return errs
}

// orphan reports whether no record names the object at name, in the
// namespace: for a part (uploads/<id>/...), the upload; for a file
// (files/../<id>), any file record with its ID — on whichever backend it
// says, so that a backend configured under two names or renamed loses
// nothing — or the resumable upload whose Complete may be writing it.
// A name whose ID is none the Service makes belongs to no record.
func (svc *Service) orphan(ctx context.Context, name string) (bool, error) {
	var id string
	if rest, ok := strings.CutPrefix(name, svc.o.Namespace+uploadsDir); ok {
		id, _, _ = strings.Cut(rest, "/")
	} else {
		id = path.Base(name)
	}
	if !validID(id) {
		return true, nil
	}
	_, err := svc.meta.GetUpload(ctx, id)
	if errors.Is(err, fs.ErrNotExist) && strings.HasPrefix(name, svc.o.Namespace+filesDir) {
		_, err = svc.meta.GetFile(ctx, id)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	return false, err
}

func (svc *Service) janitor() {
	defer svc.wg.Done()
	t := time.NewTicker(svc.o.CleanupEvery)
	defer t.Stop()
	for {
		select {
		case <-svc.bg.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(svc.bg, svc.o.CleanupEvery)
		if err := svc.Cleanup(ctx); err != nil && svc.bg.Err() == nil {
			svc.o.Logger.Warn("filestore: background cleanup", "err", err)
		}
		cancel()
	}
}
