package filestore

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/groundwork-go/groundwork/internal/resilience"
)

// RetryPolicy is the backoff policy around each backend call; the zero
// value means the defaults documented on its fields.
type RetryPolicy = resilience.RetryPolicy

// BreakerPolicy configures the circuit breaker around each backend; the
// zero value opens after 5 consecutive failures, for 5 seconds.
type BreakerPolicy = resilience.BreakerPolicy

// ErrBackendDown: the backend's circuit breaker is open after repeated
// failures; calls to it fail at once until it is probed again.
var ErrBackendDown = resilience.ErrOpen

// ServiceOptions configure NewService.
type ServiceOptions struct {
	// Backends by name ("nfs", "hdfs", "s3", "local" are the names
	// DefaultPolicy knows). The Service does not close them.
	Backends map[string]*Store
	// Policy picks the backends for an upload; nil means DefaultPolicy.
	Policy Policy
	// Metadata keeps the records; nil means NewMemoryMetadata().
	Metadata MetadataStore
	// Retry and Breaker wrap every call to a backend, one breaker per
	// backend.
	Retry   RetryPolicy
	Breaker BreakerPolicy
	// Observers are told of every file uploaded and deleted.
	Observers []Observer
	// StaleAfter is how old an unfinished upload (a resumable one since
	// its last part, or a row whose object never completed) and an object
	// no record names must be for Cleanup to remove them; default 24
	// hours.
	StaleAfter time.Duration
	// MaxPartSize bounds each part of a resumable upload (and so the
	// temporary file a part is spooled to for S3); default and maximum
	// 5 GiB, S3's own limit.
	MaxPartSize int64
	// CleanupEvery runs Cleanup in the background at this interval; 0
	// (the default) leaves it to the caller.
	CleanupEvery time.Duration
	Logger       *slog.Logger
	// MeterProvider receives the Service's metrics (operations, bytes
	// and latency by backend and outcome, breaker states, uploads in
	// flight, what Cleanup removed) and TracerProvider its spans (one per
	// operation); nil means the global providers, no-ops until the
	// application installs an SDK.
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
}

// UploadOptions describe a file to store.
type UploadOptions struct {
	// Name is the file's name as users know it (any text but NUL; the
	// backends store the file under a name of the Service's own).
	Name        string
	Size        int64 // 0 when unknown; a different length fails the upload
	ContentType string
	Priority    Priority
	Owner       string
	Metadata    map[string]string
	SHA256      []byte // the expected digest, if known
}

func (o *UploadOptions) check() error {
	switch {
	case o.Name == "" || strings.IndexByte(o.Name, 0) >= 0:
		return fmt.Errorf("%w: UploadOptions.Name %q: want non-empty, without NUL", fs.ErrInvalid, o.Name)
	case o.Size < 0:
		return fmt.Errorf("%w: UploadOptions.Size %d", fs.ErrInvalid, o.Size)
	}
	if err := o.Priority.valid(); err != nil {
		return fmt.Errorf("%w: UploadOptions.Priority: %v", fs.ErrInvalid, err)
	}
	return nil
}

// EventKind says what happened to a file.
type EventKind string

// Event kinds.
const (
	EventUploaded EventKind = "uploaded"
	EventDeleted  EventKind = "deleted"
)

// Event is told to Observers after the fact.
type Event struct {
	Kind EventKind
	File FileRecord
}

// Observer is told of events, synchronously, after the operation
// succeeded; a panic is recovered and logged. Publishing to an mq topic
// is one observer: func(ctx, e) { client.Publish(ctx, ...) }.
type Observer func(ctx context.Context, e Event)

// Service stores files on several backends under one API: it picks a
// backend per upload by policy, keeps metadata consistent with the
// objects, retries and fails over, and runs resumable uploads.
type Service struct {
	backends map[string]*backend
	o        ServiceOptions
	meta     MetadataStore
	closed   atomic.Bool
	stop     chan struct{}
	wg       sync.WaitGroup
	now      func() time.Time // the clock; tests move it
	tel      *telemetry
}

type backend struct {
	name  string
	s     *Store
	br    *resilience.Breaker
	retry RetryPolicy
	tel   *backendTel
}

// NewService checks opts and returns a Service.
func NewService(opts ServiceOptions) (*Service, error) {
	if len(opts.Backends) == 0 {
		return nil, fmt.Errorf("%w: ServiceOptions.Backends is empty", fs.ErrInvalid)
	}
	if opts.Policy == nil {
		opts.Policy = DefaultPolicy
	}
	if opts.Metadata == nil {
		opts.Metadata = NewMemoryMetadata()
	}
	if opts.StaleAfter == 0 {
		opts.StaleAfter = 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := opts.Retry.Validate(); err != nil {
		return nil, fmt.Errorf("%w: ServiceOptions.Retry: %v", fs.ErrInvalid, err)
	}
	if opts.StaleAfter < 0 || opts.CleanupEvery < 0 {
		return nil, fmt.Errorf("%w: negative StaleAfter or CleanupEvery", fs.ErrInvalid)
	}
	if opts.MaxPartSize == 0 {
		opts.MaxPartSize = MaxPartSize
	}
	if opts.MaxPartSize < 0 || opts.MaxPartSize > MaxPartSize {
		return nil, fmt.Errorf("%w: ServiceOptions.MaxPartSize %d: want 1 byte to 5 GiB", fs.ErrInvalid, opts.MaxPartSize)
	}
	svc := &Service{backends: map[string]*backend{}, o: opts, meta: opts.Metadata, stop: make(chan struct{}), now: time.Now}
	for name, st := range opts.Backends {
		if st == nil || name == "" {
			return nil, fmt.Errorf("%w: backend %q is nil or unnamed", fs.ErrInvalid, name)
		}
		br, err := resilience.NewBreaker("filestore "+name, opts.Breaker, backendFailure)
		if err != nil {
			return nil, fmt.Errorf("%w: ServiceOptions.Breaker: %v", fs.ErrInvalid, err)
		}
		svc.backends[name] = &backend{name: name, s: st, br: br, retry: opts.Retry}
	}
	if opts.MeterProvider == nil {
		opts.MeterProvider = otel.GetMeterProvider()
	}
	if opts.TracerProvider == nil {
		opts.TracerProvider = otel.GetTracerProvider()
	}
	svc.tel = newTelemetry(opts.TracerProvider, opts.MeterProvider, svc.backends)
	if opts.CleanupEvery > 0 {
		svc.wg.Add(1)
		go svc.janitor()
	}
	return svc, nil
}

// backendFailure tells the breaker which errors are the backend's fault:
// not an answer about the request (missing, existing, invalid, a digest
// mismatch), not the caller's ctx.
func backendFailure(err error) bool {
	for _, answered := range []error{fs.ErrNotExist, fs.ErrExist, fs.ErrInvalid, ErrDigestMismatch, ErrSizeMismatch,
		context.Canceled, context.DeadlineExceeded, errConsumed} {
		if errors.Is(err, answered) {
			return false
		}
	}
	return true
}

// call runs op through the backend's retry policy and breaker.
func (b *backend) call(ctx context.Context, op func(ctx context.Context) error) error {
	return b.retry.Do(ctx, func(err error) bool { return !errors.Is(err, ErrBackendDown) && b.s.IsRetryable(err) },
		func(ctx context.Context) error { return b.br.Do(func() error { return op(ctx) }) })
}

func (svc *Service) check() error {
	if svc.closed.Load() {
		return ErrClosed
	}
	return nil
}

// candidates are the configured backends the policy allows, in its order;
// if it names none that is configured, every configured one, by name.
func (svc *Service) candidates(o UploadOptions) []*backend {
	var out []*backend
	for _, name := range svc.o.Policy(o) {
		if b, ok := svc.backends[name]; ok && !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		for _, name := range slices.Sorted(maps.Keys(svc.backends)) {
			out = append(out, svc.backends[name])
		}
	}
	return out
}

func newFileID() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// The Service's names in each backend: files/<2 hex>/<id> for files,
// uploads/<id>/<part> for the parts of a resumable upload.
const (
	filesPrefix   = "files/"
	uploadsPrefix = "uploads/"
)

func objectPath(id string) string { return filesPrefix + id[:2] + "/" + id }

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

// Upload stores what r yields as a new file and returns its ID and
// record. The backend comes from the policy; if it fails (or its breaker
// is open), the upload moves to the next backend the policy allows — from
// the start of r, which must then be an io.Seeker unless nothing was read
// yet. The record is written before the object (pending) and marked ready
// after it (compare-and-set), so that no record ever points at a missing
// object. A retried Put that finds the object an earlier attempt stored
// (its answer lost) succeeds if the digests match; a failed attempt's
// object and record are removed, or left pending for Cleanup when the
// backend cannot be reached.
func (svc *Service) Upload(ctx context.Context, r io.Reader, opts UploadOptions) (_ string, _ *FileRecord, err error) {
	if err := svc.check(); err != nil {
		return "", nil, err
	}
	if err := opts.check(); err != nil {
		return "", nil, fmt.Errorf("filestore: upload: %w", err)
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
			Path: objectPath(id), Created: svc.now().UTC(), State: FilePending}
		if span.IsRecording() {
			span.SetAttributes(attribute.String("filestore.file_id", id), attribute.String("filestore.backend", b.name))
		}
		if err := svc.meta.CreateFile(ctx, rec); err != nil {
			return "", nil, fmt.Errorf("filestore: upload: metadata: %w", err)
		}
		svc.tel.pending.Add(1)
		start := time.Now()
		var info *Info
		err := b.call(ctx, func(ctx context.Context) error {
			if err := src.rewind(); err != nil {
				return resilience.Permanent(err)
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
			if err != nil && !errors.Is(err, ErrConflict) {
				// The answer may be what failed: only this call makes
				// this ID ready, so a ready record is this call's.
				if cur, gerr := svc.meta.GetFile(ctx, id); gerr == nil && cur.State == FileReady {
					ready, err = *cur, nil
				}
			}
			svc.tel.pending.Add(-1)
			svc.tel.observe(ctx, b, opUpload, start, err)
			if err != nil {
				// The object stays, its record pending: Cleanup removes both.
				return "", nil, fmt.Errorf("filestore: upload: metadata: %w", err)
			}
			b.tel.uploaded.n.Add(info.Size)
			svc.emit(ctx, EventUploaded, &ready)
			return id, &ready, nil
		}
		svc.tel.observe(ctx, b, opUpload, start, err)
		errs = append(errs, fmt.Errorf("backend %q: %w", b.name, err))
		svc.discard(ctx, b, rec)
		svc.tel.pending.Add(-1)
		if i == len(cands)-1 || !failover(err) || src.rewind() != nil {
			break
		}
		svc.o.Logger.Warn("filestore: upload failed over to the next backend", "from", b.name, "err", err)
	}
	return "", nil, fmt.Errorf("filestore: upload %q: %w", opts.Name, errors.Join(errs...))
}

// landed reports whether the object at path is the content info
// describes: same size and SHA-256. An IfNotExist Put meets its own
// earlier attempt this way when that attempt's commit succeeded but its
// answer was lost; the path holds a fresh ID, so nobody else writes there.
func (svc *Service) landed(ctx context.Context, b *backend, path string, info *Info) bool {
	st, err := b.s.Stat(ctx, path)
	return err == nil && st.SHA256 != nil && st.Size == info.Size && bytes.Equal(st.SHA256, info.SHA256)
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

// Stat returns a ready file's record.
func (svc *Service) Stat(ctx context.Context, id string) (*FileRecord, error) {
	if err := svc.check(); err != nil {
		return nil, err
	}
	rec, err := svc.meta.GetFile(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("filestore: file %q: %w", id, err)
	}
	if rec.State != FileReady {
		return nil, fmt.Errorf("filestore: file %q (%s): %w", id, rec.State, fs.ErrNotExist)
	}
	return rec, nil
}

// Backend returns the store configured under name, or nil.
func (svc *Service) Backend(name string) *Store {
	if b, ok := svc.backends[name]; ok {
		return b.s
	}
	return nil
}

func (svc *Service) backendOf(rec *FileRecord) (*backend, error) {
	b, ok := svc.backends[rec.Backend]
	if !ok {
		return nil, fmt.Errorf("filestore: file %q is on backend %q, which is not configured", rec.ID, rec.Backend)
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
	rec, err := svc.Stat(spanCtx, id)
	if err != nil {
		return nil, nil, err
	}
	b, err := svc.backendOf(rec)
	if err != nil {
		return nil, nil, err
	}
	start := time.Now()
	var rd *Reader
	err = b.call(spanCtx, func(context.Context) error {
		var err error
		rd, err = b.s.Open(ctx, rec.Path) // the caller's ctx: it governs the Reader
		return err
	})
	svc.tel.observe(ctx, b, opDownload, start, err)
	if err != nil {
		return nil, nil, fmt.Errorf("filestore: download %q from backend %q: %w", id, b.name, err)
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
	rec, err := svc.Stat(ctx, id)
	if err != nil {
		return err
	}
	b, err := svc.backendOf(rec)
	if err != nil {
		return err
	}
	start := time.Now()
	defer func() { svc.tel.observe(ctx, b, opDelete, start, err) }()
	rec.State = FileDeleting
	if err := svc.meta.UpdateFile(ctx, rec, FileReady); errors.Is(err, ErrConflict) {
		return fmt.Errorf("filestore: delete %q: %w (deleted concurrently: %v)", id, fs.ErrNotExist, err)
	} else if err != nil {
		return fmt.Errorf("filestore: delete %q: metadata: %w", id, err)
	}
	if err := svc.removeObject(ctx, b, rec.Path); err != nil {
		return fmt.Errorf("filestore: delete %q from backend %q: %w", id, b.name, err)
	}
	if err := svc.meta.DeleteFile(ctx, id); err != nil && !errors.Is(err, fs.ErrNotExist) { // gone: Cleanup finished it
		return fmt.Errorf("filestore: delete %q: metadata: %w", id, err)
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

func (svc *Service) emit(ctx context.Context, kind EventKind, rec *FileRecord) {
	for _, o := range svc.o.Observers {
		func() {
			defer func() {
				if p := recover(); p != nil {
					svc.o.Logger.Error("filestore: observer panicked", "event", kind, "id", rec.ID, "panic", p)
				}
			}()
			o(ctx, Event{Kind: kind, File: *rec})
		}()
	}
}

// Cleanup finishes what crashed or abandoned operations left, older than
// StaleAfter: pending records (an upload that never completed) lose their
// object and record (moved to deleting first, by compare-and-set, so that
// an upload finishing meanwhile wins), deleting ones are deleted,
// resumable uploads idle since StaleAfter (no part stored) are aborted
// with their parts, and objects under the Service's names (files/ and
// uploads/ in each backend) that no record names are removed. The last
// lists every backend and looks each object older than StaleAfter up in
// the metadata: its cost grows with the number of files.
func (svc *Service) Cleanup(ctx context.Context) (err error) {
	if err := svc.check(); err != nil {
		return err
	}
	ctx, span := svc.tel.tracer.Start(ctx, "filestore cleanup")
	defer func() { endSpan(span, err) }()
	before := svc.now().Add(-svc.o.StaleAfter)
	errs, err := svc.cleanFiles(ctx, before)
	if err != nil {
		return fmt.Errorf("filestore: cleanup: %w", err)
	}
	uploads, err := svc.meta.StaleUploads(ctx, before)
	if err != nil {
		return fmt.Errorf("filestore: cleanup: %w", err)
	}
	for _, u := range uploads {
		if err := svc.abort(ctx, u); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("upload %q: %w", u.ID, err))
			continue
		}
		svc.tel.cleaned[cleanStaleUpload].n.Add(1)
	}
	errs = append(errs, svc.cleanOrphans(ctx, before)...)
	if len(errs) > 0 {
		return fmt.Errorf("filestore: cleanup: %w", errors.Join(errs...))
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
		if rec.State == FilePending {
			del := *rec
			del.State = FileDeleting
			if err := svc.meta.UpdateFile(ctx, &del, FilePending); errors.Is(err, ErrConflict) || errors.Is(err, fs.ErrNotExist) {
				continue // finished (ready) or undone meanwhile
			} else if err != nil {
				errs = append(errs, fmt.Errorf("file %q: %w", rec.ID, err))
				continue
			}
		}
		if b, ok := svc.backends[rec.Backend]; ok {
			if err := svc.removeObject(ctx, b, rec.Path); err != nil {
				errs = append(errs, fmt.Errorf("file %q: %w", rec.ID, err))
				continue
			}
		}
		if err := svc.meta.DeleteFile(ctx, rec.ID); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		svc.tel.cleaned[cleanStaleFile].n.Add(1)
	}
	return errs, nil
}

// cleanOrphans removes objects under files/ and uploads/ older than
// before that no record names: what an upload left when its commit landed
// after the Service gave up on it, or parts a finished upload could not
// delete. Records are written before their objects and removed after
// them, so an object without one is never an upload in progress.
func (svc *Service) cleanOrphans(ctx context.Context, before time.Time) []error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(svc.backends)) {
		b := svc.backends[name]
		for _, prefix := range []string{filesPrefix, uploadsPrefix} {
			for info, err := range b.s.List(ctx, prefix) {
				if err != nil {
					errs = append(errs, fmt.Errorf("backend %q: listing %s: %w", name, prefix, err))
					break
				}
				if !info.ModTime.Before(before) {
					continue
				}
				orphan, err := svc.orphan(ctx, b, info.Name)
				if err == nil && orphan {
					if err = svc.removeObject(ctx, b, info.Name); err == nil {
						svc.tel.cleaned[cleanOrphan].n.Add(1)
					}
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("backend %q: %s: %w", name, info.Name, err))
				}
			}
		}
	}
	return errs
}

// orphan reports whether no record names the object at name in b: a file
// record with its path there, the upload its part belongs to, or — for a
// file without a record — the resumable upload whose Complete may be
// writing it (a retried Complete writes its record first, but after this
// look-up could have missed it).
func (svc *Service) orphan(ctx context.Context, b *backend, name string) (bool, error) {
	var err error
	if rest, ok := strings.CutPrefix(name, uploadsPrefix); ok {
		id, _, _ := strings.Cut(rest, "/")
		_, err = svc.meta.GetUpload(ctx, id)
	} else {
		var rec *FileRecord
		id := path.Base(name)
		rec, err = svc.meta.GetFile(ctx, id)
		if err == nil && (rec.Backend != b.name || rec.Path != name) {
			return true, nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			_, err = svc.meta.GetUpload(ctx, id)
		}
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
		case <-svc.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), svc.o.CleanupEvery)
		if err := svc.Cleanup(ctx); err != nil {
			svc.o.Logger.Warn("filestore: background cleanup", "err", err)
		}
		cancel()
	}
}

// Close stops the background cleanup. It is idempotent; afterwards every
// method returns ErrClosed. The backends stay open.
func (svc *Service) Close() error {
	if svc.closed.Swap(true) {
		return nil
	}
	close(svc.stop)
	svc.wg.Wait()
	svc.tel.close()
	return nil
}
