package filestore

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
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

	"github.com/groundwork-go/groundwork/internal/breaker"
	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/resilience"
)

// ErrBackendDown: the backend's circuit breaker is open after repeated
// failures; calls to it fail at once until it is probed again.
var ErrBackendDown = breaker.ErrOpen

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
	// backend; their zero values take the defaults documented on their
	// fields.
	Retry   resilience.RetryPolicy
	Breaker resilience.BreakerPolicy
	// Observers are told of every file uploaded and deleted.
	Observers []Observer
	// Namespace is the name prefix under which the Service keeps every
	// object it writes, in each backend: files under Namespace+"files/",
	// the parts of resumable uploads under Namespace+"uploads/". Default
	// "filestore/"; else a valid name ending in "/". The namespace
	// belongs to this Service and its MetadataStore alone: Services with
	// separate metadata that share a backend need namespaces of their
	// own, neither a prefix of the other, and nothing else should write
	// there (RemoveOrphans deletes what no record names). Changing it leaves existing files readable
	// (records keep their objects' names) and uploads in flight
	// resumable (their parts stay where they began), but RemoveOrphans
	// no longer looks in the old one.
	Namespace string
	// RemoveOrphans makes Cleanup also list the Namespace in every
	// backend and remove objects older than StaleAfter that no record of
	// this Service names (an upload's commit that landed after the
	// Service gave up on it, the parts a crash left). Off by default:
	// turn it on only where the Namespace is this Service's alone.
	RemoveOrphans bool
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

// UploadOptions describe a file to store. Its text (Name, ContentType,
// Owner, Metadata) must be UTF-8 without NUL, as every MetadataStore can
// keep it; anything else fails the upload at once with fs.ErrInvalid
// naming the field.
type UploadOptions struct {
	// Name is the file's name as users know it (any UTF-8 text but NUL;
	// the backends store the file under a name of the Service's own).
	Name        string
	Size        int64 // 0 when unknown; a different length fails the upload
	ContentType string
	Priority    Priority
	Owner       string
	// Metadata is stored with the object: keys of letters, digits, '-'
	// and '_' (PutOptions.Metadata).
	Metadata map[string]string
	SHA256   []byte // the expected digest, if known
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
	// bg is the background Cleanup's context, which Close cancels.
	bg     context.Context
	stopBg context.CancelCauseFunc
	wg     sync.WaitGroup
	now    func() time.Time // the clock; tests move it
	tel    *telemetry
}

type backend struct {
	name  string
	s     *Store
	br    *breaker.Breaker
	retry resilience.RetryPolicy
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
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if ns, ok := strings.CutSuffix(opts.Namespace, "/"); !ok || ValidName(ns) != nil {
		return nil, fmt.Errorf("%w: ServiceOptions.Namespace %q: want a valid name ending in /, such as %q", fs.ErrInvalid, opts.Namespace, DefaultNamespace)
	}
	svc := &Service{backends: map[string]*backend{}, o: opts, meta: opts.Metadata, now: time.Now}
	svc.bg, svc.stopBg = context.WithCancelCause(context.Background())
	for name, st := range opts.Backends {
		if st == nil || name == "" {
			return nil, fmt.Errorf("%w: backend %q is nil or unnamed", fs.ErrInvalid, name)
		}
		br, err := breaker.New("filestore "+name, opts.Breaker, backendFailure)
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
	return retrying.Do(ctx, b.retry, func(err error) bool { return !errors.Is(err, ErrBackendDown) && b.s.IsRetryable(err) },
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

// DefaultNamespace is ServiceOptions.Namespace's default.
const DefaultNamespace = "filestore/"

// The Service's names in each backend, under its namespace:
// files/<2 hex>/<id> for files, uploads/<id>/<part> for the parts of a
// resumable upload.
const (
	filesDir   = "files/"
	uploadsDir = "uploads/"
)

// objectPath is where the file id is stored.
func (svc *Service) objectPath(id string) string {
	return svc.o.Namespace + filesDir + id[:2] + "/" + id
}

// partsDir is where the parts of the upload rec are stored: in the
// namespace of its file's path, where they began even if
// ServiceOptions.Namespace changed since.
func partsDir(rec *UploadRecord) string {
	ns := rec.Path
	if len(rec.ID) >= 2 {
		ns = strings.TrimSuffix(rec.Path, filesDir+rec.ID[:2]+"/"+rec.ID)
	}
	return ns + uploadsDir + rec.ID + "/"
}

// validID reports whether id is one newFileID makes: 32 lower-case hex
// digits.
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := range len(id) {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// opError wraps err with what failed (format and args), unless the
// caller's ctx ended: that is returned as it is (context errors are never
// wrapped).
func opError(ctx context.Context, err error, format string, args ...any) error {
	if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
		return cerr
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

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
// (its answer lost) succeeds if the content is the same (its SHA-256, read
// back when the backend knows none); a failed attempt's object and record
// are removed, or left pending for Cleanup when the backend cannot be
// reached. An upload that outlived StaleAfter before its record was
// marked ready may have been undone by Cleanup meanwhile: it fails with
// ErrConflict, and its object is removed.
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
			Path: svc.objectPath(id), Created: svc.now().UTC(), State: FilePending}
		if span.IsRecording() {
			span.SetAttributes(attribute.String("filestore.file_id", id), attribute.String("filestore.backend", b.name))
		}
		if err := svc.meta.CreateFile(ctx, rec); err != nil {
			return "", nil, opError(ctx, err, "filestore: upload %q: metadata", opts.Name)
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
				err = fmt.Errorf("%w: Cleanup undid the upload, which took longer than StaleAfter (%v)", ErrConflict, err)
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
				return "", nil, opError(ctx, err, "filestore: upload %q: metadata", opts.Name)
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
	return "", nil, opError(ctx, errors.Join(errs...), "filestore: upload %q", opts.Name)
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

// Stat returns a ready file's record.
func (svc *Service) Stat(ctx context.Context, id string) (*FileRecord, error) {
	if err := svc.check(); err != nil {
		return nil, err
	}
	rec, err := svc.meta.GetFile(ctx, id)
	if err != nil {
		return nil, opError(ctx, err, "filestore: file %q", id)
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
	svc.tel.observe(spanCtx, b, opDownload, start, err)
	if err != nil {
		return nil, nil, opError(ctx, err, "filestore: download %q from backend %q", id, b.name)
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
		return opError(ctx, err, "filestore: delete %q: metadata", id)
	}
	if err := svc.removeObject(ctx, b, rec.Path); err != nil {
		return opError(ctx, err, "filestore: delete %q from backend %q", id, b.name)
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
			errs = append(errs, fmt.Errorf("upload %q: %w", u.ID, err))
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
			errs = append(errs, fmt.Errorf("file %q: %w", rec.ID, err))
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
	b, ok := svc.backends[rec.Backend]
	if !ok {
		// Keep the record, so that its object is removed once the
		// backend is configured again.
		return fmt.Errorf("its backend %q is not configured", rec.Backend)
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
// listed once, however many names it has in ServiceOptions.Backends.
func (svc *Service) cleanOrphans(ctx context.Context, before time.Time) []error {
	var errs []error
	listed := map[*Store]bool{}
	for _, name := range slices.Sorted(maps.Keys(svc.backends)) {
		b := svc.backends[name]
		if listed[b.s] {
			continue
		}
		listed[b.s] = true
		for _, prefix := range []string{svc.o.Namespace + filesDir, svc.o.Namespace + uploadsDir} {
			for info, err := range b.s.List(ctx, prefix) {
				if err != nil {
					errs = append(errs, fmt.Errorf("backend %q: listing %s: %w", name, prefix, err))
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
					errs = append(errs, fmt.Errorf("backend %q: %s: %w", name, info.Name, err))
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

// Close stops the background cleanup, cancelling one that is running. It
// is idempotent; afterwards every
// method returns ErrClosed. The backends stay open.
func (svc *Service) Close() error {
	if svc.closed.Swap(true) {
		return nil
	}
	svc.stopBg(ErrClosed) // a running background Cleanup stops at once
	svc.wg.Wait()
	svc.tel.close()
	return nil
}
