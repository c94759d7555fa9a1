package filestore_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/driver"
	"github.com/groundwork-go/groundwork/filestore/memstore"
	"github.com/groundwork-go/groundwork/filestore/s3store"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// Hooks that make races and lost answers happen on command, in order.

// hookedMeta is a MetadataStore whose UpdateFile and CompleteUpload (a
// move from pending) run a hook first (it may fail the call or hold it),
// and can lose the answer of the next move it makes.
type hookedMeta struct {
	filestore.MetadataStore
	mu           sync.Mutex
	beforeUpdate func(f *filestore.FileRecord, from filestore.FileState) error
	beforeCreate func(f *filestore.FileRecord) // runs before CreateFile
	afterCreate  func(f *filestore.FileRecord) // runs after a CreateFile that succeeded
	loseAnswer   atomic.Bool                   // the next UpdateFile happens but reports an error
}

func (m *hookedMeta) setBeforeCreate(h func(f *filestore.FileRecord)) {
	m.mu.Lock()
	m.beforeCreate = h
	m.mu.Unlock()
}

func (m *hookedMeta) CreateFile(ctx context.Context, f *filestore.FileRecord) error {
	m.mu.Lock()
	h := m.beforeCreate
	m.mu.Unlock()
	if h != nil {
		h(f)
	}
	if err := m.MetadataStore.CreateFile(ctx, f); err != nil {
		return err
	}
	m.mu.Lock()
	h = m.afterCreate
	m.mu.Unlock()
	if h != nil {
		h(f)
	}
	return nil
}

func (m *hookedMeta) setAfterCreate(h func(f *filestore.FileRecord)) {
	m.mu.Lock()
	m.afterCreate = h
	m.mu.Unlock()
}

func (m *hookedMeta) setBeforeUpdate(h func(f *filestore.FileRecord, from filestore.FileState) error) {
	m.mu.Lock()
	m.beforeUpdate = h
	m.mu.Unlock()
}

func (m *hookedMeta) UpdateFile(ctx context.Context, f *filestore.FileRecord, from filestore.FileState) error {
	m.mu.Lock()
	h := m.beforeUpdate
	m.mu.Unlock()
	if h != nil {
		if err := h(f, from); err != nil {
			return err
		}
	}
	err := m.MetadataStore.UpdateFile(ctx, f, from)
	if err == nil && m.loseAnswer.CompareAndSwap(true, false) {
		return errors.New("test: the database's answer was lost")
	}
	return err
}

func (m *hookedMeta) CompleteUpload(ctx context.Context, f *filestore.FileRecord) error {
	m.mu.Lock()
	h := m.beforeUpdate
	m.mu.Unlock()
	if h != nil {
		if err := h(f, filestore.FilePending); err != nil {
			return err
		}
	}
	err := m.MetadataStore.CompleteUpload(ctx, f)
	if err == nil && m.loseAnswer.CompareAndSwap(true, false) {
		return errors.New("test: the database's answer was lost")
	}
	return err
}

// failOnce returns a hook failing the first move to state with err.
func failOnce(state filestore.FileState, err error) func(*filestore.FileRecord, filestore.FileState) error {
	var done atomic.Bool
	return func(f *filestore.FileRecord, _ filestore.FileState) error {
		if f.State == state && done.CompareAndSwap(false, true) {
			return err
		}
		return nil
	}
}

// meetAt returns a hook that holds the first n moves to state until all n
// have arrived, then lets them go together; first is closed when the
// first one is held.
func meetAt(t *testing.T, state filestore.FileState, n int32) (hook func(*filestore.FileRecord, filestore.FileState) error, first <-chan struct{}) {
	var arrived atomic.Int32
	all, one := make(chan struct{}), make(chan struct{})
	return func(f *filestore.FileRecord, _ filestore.FileState) error {
		if f.State != state {
			return nil
		}
		k := arrived.Add(1)
		if k > n {
			return nil
		}
		if k == 1 {
			close(one)
		}
		if k == n {
			close(all)
		}
		select {
		case <-all:
			return nil
		case <-time.After(time.Minute):
			t.Errorf("only %d of %d callers reached the move to %s", arrived.Load(), n, state)
			return errors.New("test: callers never met")
		}
	}, one
}

// errLost is a failure after the request reached the backend: the commit
// happened, its answer did not come back.
var errLost = errors.New("test: connection reset before the answer came")

// lossyBucket is memstore whose commits can lose their answers and whose
// deletes can fail, on command; both failures are retryable.
type lossyBucket struct {
	driver.Bucket
	loseCommits atomic.Int32 // the next n commits happen but report errLost
	failDeletes atomic.Bool
	failWrites  atomic.Bool  // every write fails (errLost) before storing anything
	lists       atomic.Int32 // List calls
}

func (b *lossyBucket) List(ctx context.Context, o *driver.ListOptions) (*driver.ListPage, error) {
	b.lists.Add(1)
	return b.Bucket.List(ctx, o)
}

func newLossy(t *testing.T) (*lossyBucket, *filestore.Store) {
	b := &lossyBucket{Bucket: memstore.New()}
	s, err := filestore.NewStore(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return b, s
}

func (b *lossyBucket) IsRetryable(err error) bool { return errors.Is(err, errLost) }

func (b *lossyBucket) NewWriter(ctx context.Context, name string, o *driver.WriterOptions) (driver.Writer, error) {
	if b.failWrites.Load() {
		return nil, errLost
	}
	w, err := b.Bucket.NewWriter(ctx, name, o)
	if err != nil {
		return nil, err
	}
	return &lossyWriter{Writer: w, b: b}, nil
}

func (b *lossyBucket) Delete(ctx context.Context, name string) error {
	if b.failDeletes.Load() {
		return errLost
	}
	return b.Bucket.Delete(ctx, name)
}

type lossyWriter struct {
	driver.Writer
	b *lossyBucket
}

func (w *lossyWriter) Commit(sum []byte) error {
	if err := w.Writer.Commit(sum); err != nil {
		return err
	}
	if w.b.loseCommits.Add(-1) >= 0 {
		return errLost
	}
	return nil
}

// clock is a Service's time, moved forward by tests.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

func withClock(svc *filestore.Service) *clock {
	c := &clock{}
	filestore.SetClock(svc, c.now)
	return c
}

// loseCompleteTransport lets the next lose CompleteMultipartUpload
// requests reach the server and then drops their answers (connection
// reset), as a network failure after the commit would.
type loseCompleteTransport struct{ lose atomic.Int32 }

func (tr *loseCompleteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && req.Method == http.MethodPost && req.URL.Query().Has("uploadId") && tr.lose.Add(-1) >= 0 {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	return resp, err
}

// s3StoreThrough opens a store on a fresh gateway whose requests go
// through tr, with the SDK's own retries off.
func s3StoreThrough(t *testing.T, tr http.RoundTripper) *filestore.Store {
	gw := testserver.StartS3(t, "files")
	gw.UseCredentials(t)
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle, o.BaseEndpoint = true, aws.String(gw.Endpoint)
		o.HTTPClient = &http.Client{Transport: tr}
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	b, err := s3store.New(client, "files", nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := filestore.NewStore(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
