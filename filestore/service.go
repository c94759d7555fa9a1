package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
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
	// Backends are the stores files go to, each under a name of the
	// user's choosing that Policy refers to and every file's record keeps
	// (FileRecord.Backend). Names must be unique, aliases included. The
	// Service does not close the stores.
	Backends []Backend
	// Policy picks the backends for an upload by size and priority; the
	// zero Policy takes them in the order Backends lists them.
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

// Backend is a store the Service keeps files on, and its name.
type Backend struct {
	// Name is the backend's name in Policy, in records and in metrics
	// (the filestore.backend attribute): non-empty UTF-8 without NUL.
	Name  string
	Store *Store
	// Aliases are names the records of this backend may carry besides
	// Name: names it was configured under before (such as nfs, hdfs, s3
	// or local, which the Service used before backends were named by
	// their users), so that files recorded under them stay readable.
	// New records carry Name.
	Aliases []string
}

// Service stores files on several backends under one API: it picks a
// backend per upload by policy, keeps metadata consistent with the
// objects, retries and fails over, and runs resumable uploads.
type Service struct {
	// list is the backends in the order configured; backends finds
	// each by its name and by its aliases.
	list     []*backend
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
	svc, err := newService(opts)
	if err != nil {
		return nil, fmt.Errorf("filestore: NewService: %w", err)
	}
	return svc, nil
}

func newService(opts ServiceOptions) (*Service, error) {
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
	svc := &Service{o: opts, meta: opts.Metadata, now: time.Now}
	if err := svc.addBackends(opts.Backends, opts.Breaker); err != nil {
		return nil, err
	}
	svc.o.Policy = opts.Policy.clone()
	if err := svc.o.Policy.check(svc.backends); err != nil {
		return nil, err
	}
	if opts.MeterProvider == nil {
		opts.MeterProvider = otel.GetMeterProvider()
	}
	if opts.TracerProvider == nil {
		opts.TracerProvider = otel.GetTracerProvider()
	}
	svc.tel = newTelemetry(opts.TracerProvider, opts.MeterProvider, svc.list)
	svc.bg, svc.stopBg = context.WithCancelCause(context.Background())
	if opts.CleanupEvery > 0 {
		svc.wg.Add(1)
		go svc.janitor()
	}
	return svc, nil
}

// addBackends checks the backends' names (unique, aliases included, and
// text every MetadataStore keeps) and gives each its breaker.
func (svc *Service) addBackends(list []Backend, bp resilience.BreakerPolicy) error {
	if len(list) == 0 {
		return fmt.Errorf("%w: ServiceOptions.Backends is empty", fs.ErrInvalid)
	}
	svc.backends = map[string]*backend{}
	for i, cfg := range list {
		field := fmt.Sprintf("ServiceOptions.Backends[%d]", i)
		if cfg.Store == nil {
			return fmt.Errorf("%w: %s (%q) has no Store", fs.ErrInvalid, field, cfg.Name)
		}
		br, err := breaker.New("filestore "+cfg.Name, bp, backendFailure)
		if err != nil {
			return fmt.Errorf("%w: ServiceOptions.Breaker: %v", fs.ErrInvalid, err)
		}
		b := &backend{name: cfg.Name, s: cfg.Store, br: br, retry: svc.o.Retry}
		for j, name := range append([]string{cfg.Name}, cfg.Aliases...) {
			what := field + ".Name"
			if j > 0 {
				what = fmt.Sprintf("%s.Aliases[%d]", field, j-1)
			}
			if name == "" {
				return fmt.Errorf("%w: %s is empty", fs.ErrInvalid, what)
			}
			if err := checkText(what, name); err != nil {
				return err
			}
			if other, dup := svc.backends[name]; dup {
				return fmt.Errorf("%w: %s: backend name %q is taken already (by the backend named %q)", fs.ErrInvalid, what, name, other.name)
			}
			svc.backends[name] = b
		}
		svc.list = append(svc.list, b)
	}
	return nil
}

// backendFailure tells the breaker which errors are the backend's fault:
// not an answer about the request (missing, existing, invalid, a digest
// mismatch), not the caller's ctx, not the caller's reader.
func backendFailure(err error) bool {
	if errors.As(err, new(*sourceError)) {
		return false
	}
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
	return retrying.Do(ctx, b.retry, func(err error) bool {
		return !errors.Is(err, ErrBackendDown) && !errors.As(err, new(*sourceError)) && b.s.IsRetryable(err)
	},
		func(ctx context.Context) error { return b.br.Do(func() error { return op(ctx) }) })
}

func (svc *Service) check() error {
	if svc.closed.Load() {
		return ErrClosed
	}
	return nil
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
