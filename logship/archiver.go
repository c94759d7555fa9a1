package logship

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/mq"
)

// Archiver is the cold tier: it consumes a topic MQSink publishes to and
// writes the records, per service and hour, as gzipped NDJSON objects with
// a manifest, to a filestore.Store; ReadArchive streams them back. Create
// it with NewArchiver, end it with Shutdown. See the package doc's
// # Archive for what it guarantees.
type Archiver struct {
	store  *filestore.Store
	prefix string
	o      archiveOptions
	tel    *archiveTelemetry
	sub    *mq.Subscription

	// work is the context of the store calls; cancelled when a
	// Shutdown's deadline passes.
	work       context.Context
	cancelWork context.CancelFunc

	mu      sync.Mutex
	buckets map[archiveKey]*archiveBucket
	pending int  // messages waiting in buckets
	closing bool // Shutdown began: every handler flushes its own bucket

	stopTick chan struct{}
	tickDone chan struct{}

	shutOnce sync.Once
	shutErr  error
}

// ArchiveOption configures an Archiver, overriding a default.
type ArchiveOption func(*archiveOptions) error

type archiveOptions struct {
	prefix     string
	maxRecords int
	maxBytes   int
	maxAge     time.Duration
	meter      metric.MeterProvider
	logger     *slog.Logger
	subOpts    []mq.SubscribeOption
}

// WithArchivePrefix puts the archive under prefix in the store, overriding
// the default "logs". It must be a valid filestore name (or empty, for the
// store's top level).
func WithArchivePrefix(prefix string) ArchiveOption {
	return func(o *archiveOptions) error {
		prefix = strings.TrimSuffix(prefix, "/")
		if prefix != "" {
			if err := filestore.ValidName(prefix); err != nil {
				return fmt.Errorf("%w: WithArchivePrefix(%q): %v", ErrInvalid, prefix, err)
			}
		}
		o.prefix = prefix
		return nil
	}
}

// WithArchiveFlush sets when the records of one service and hour are
// written as an object, overriding the defaults (1000 records, 8 MiB of
// uncompressed NDJSON, one minute after the first of them arrived):
// whichever limit comes first. records is also how many messages the
// Archiver holds unacknowledged at most (its subscription's concurrency):
// when that many wait, every service and hour is flushed.
func WithArchiveFlush(records, bytes int, age time.Duration) ArchiveOption {
	return func(o *archiveOptions) error {
		if records < 1 || bytes < 1 || age <= 0 {
			return fmt.Errorf("%w: WithArchiveFlush(%d, %d, %v): want positive limits", ErrInvalid, records, bytes, age)
		}
		o.maxRecords, o.maxBytes, o.maxAge = records, bytes, age
		return nil
	}
}

// WithArchiveMeterProvider sets where the Archiver's metrics go,
// overriding the default, the global MeterProvider.
func WithArchiveMeterProvider(mp metric.MeterProvider) ArchiveOption {
	return func(o *archiveOptions) error {
		if mp == nil {
			return fmt.Errorf("%w: WithArchiveMeterProvider(nil)", ErrInvalid)
		}
		o.meter = mp
		return nil
	}
}

// WithArchiveLogger sets the logger for failures nobody waits for (a
// manifest update), overriding the default slog.Default().
func WithArchiveLogger(l *slog.Logger) ArchiveOption {
	return func(o *archiveOptions) error {
		if l == nil {
			return fmt.Errorf("%w: WithArchiveLogger(nil)", ErrInvalid)
		}
		o.logger = l
		return nil
	}
}

// WithArchiveSubscribeOptions adds options to the Archiver's subscription
// (mq.WithMaxAttempts, mq.WithDeadLetterTopic, ...). WithConcurrency and
// WithPrefetch are the Archiver's own (see WithArchiveFlush).
func WithArchiveSubscribeOptions(opts ...mq.SubscribeOption) ArchiveOption {
	return func(o *archiveOptions) error {
		o.subOpts = append(o.subOpts, opts...)
		return nil
	}
}

// archiveKey is one service and hour: one directory of the archive.
type archiveKey struct {
	service string
	hour    int64 // Unix seconds of the hour's start
}

// archiveBucket is the records of one key waiting to be written, and
// their handlers waiting to hear how it went.
type archiveBucket struct {
	key     archiveKey
	lines   []archiveEntry
	bytes   int
	born    time.Time
	waiters []chan error
}

type archiveEntry struct {
	id   string
	t    time.Time
	line []byte
}

// NewArchiver subscribes to topic as a member of group and archives what
// it receives to store. consumer and store stay the caller's: Shutdown
// closes neither.
func NewArchiver(consumer *mq.Client, topic, group string, store *filestore.Store, opts ...ArchiveOption) (*Archiver, error) {
	switch {
	case consumer == nil:
		return nil, fmt.Errorf("%w: NewArchiver: nil consumer", ErrInvalid)
	case store == nil:
		return nil, fmt.Errorf("%w: NewArchiver: nil store", ErrInvalid)
	case topic == "":
		return nil, fmt.Errorf("%w: NewArchiver: empty topic", ErrInvalid)
	case group == "":
		return nil, fmt.Errorf("%w: NewArchiver: empty group", ErrInvalid)
	}
	o := archiveOptions{prefix: "logs", maxRecords: 1000, maxBytes: 8 << 20, maxAge: time.Minute, meter: otel.GetMeterProvider(), logger: slog.Default()}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	a := &Archiver{store: store, o: o, buckets: map[archiveKey]*archiveBucket{},
		stopTick: make(chan struct{}), tickDone: make(chan struct{})}
	if o.prefix != "" {
		a.prefix = o.prefix + "/"
	}
	a.work, a.cancelWork = context.WithCancel(context.Background())
	a.tel = newArchiveTelemetry(o.meter, topic)
	subOpts := append(slices.Clone(o.subOpts), mq.WithConcurrency(o.maxRecords), mq.WithPrefetch(o.maxRecords))
	sub, err := consumer.Subscribe(context.Background(), topic, group, a.handle, subOpts...)
	if err != nil {
		a.cancelWork()
		a.tel.close()
		return nil, fmt.Errorf("logship: NewArchiver: %w", err)
	}
	a.sub = sub
	go a.tick()
	return a, nil
}

// handle is the subscription's Handler: it adds the message's record to
// its bucket and returns once the bucket was written (nil: acknowledge)
// or failed (an error: the message is redelivered).
func (a *Archiver) handle(ctx context.Context, m *mq.Message) error {
	r, err := RecordFromMessage(m)
	if err != nil {
		return mq.Permanent(err)
	}
	line, err := archiveLineOf(r)
	if err != nil {
		return mq.Permanent(err)
	}
	t := r.Time.UTC()
	key := archiveKey{service: r.Service, hour: t.Truncate(time.Hour).Unix()}
	done := make(chan error, 1)

	a.mu.Lock()
	b := a.buckets[key]
	if b == nil {
		b = &archiveBucket{key: key, born: time.Now()}
		a.buckets[key] = b
	}
	b.lines = append(b.lines, archiveEntry{id: r.ID, t: t, line: line})
	b.bytes += len(line)
	b.waiters = append(b.waiters, done)
	a.pending++
	var due []*archiveBucket
	switch {
	case a.closing || a.pending >= a.o.maxRecords:
		// Every worker may be waiting here: nothing else would come to
		// fill a bucket.
		due = a.takeAllLocked()
	case len(b.lines) >= a.o.maxRecords || b.bytes >= a.o.maxBytes:
		due = []*archiveBucket{a.takeLocked(key)}
	}
	a.mu.Unlock()

	for _, b := range due {
		a.flush(b)
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// archiveLineOf is r's line in an object, without the newline. The
// document is compacted: a record's JSON with newlines in it (valid JSON
// may have them) must not split its line.
func archiveLineOf(r Record) ([]byte, error) {
	line, err := json.Marshal(archiveLine{ID: r.ID, Service: r.Service, Time: r.Time.UTC(), Level: r.Level, Doc: r.JSON})
	if err != nil {
		return nil, fmt.Errorf("logship: archive record %q: its JSON: %w", r.ID, err)
	}
	return line, nil
}

func (a *Archiver) takeLocked(key archiveKey) *archiveBucket {
	b := a.buckets[key]
	delete(a.buckets, key)
	a.pending -= len(b.waiters)
	return b
}

func (a *Archiver) takeAllLocked() []*archiveBucket {
	out := make([]*archiveBucket, 0, len(a.buckets))
	for k := range a.buckets {
		out = append(out, a.takeLocked(k))
	}
	return out
}

// tick flushes the buckets older than maxAge.
func (a *Archiver) tick() {
	defer close(a.tickDone)
	t := time.NewTicker(max(a.o.maxAge/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-a.stopTick:
			return
		case now := <-t.C:
			a.mu.Lock()
			var due []*archiveBucket
			for k, b := range a.buckets {
				if now.Sub(b.born) >= a.o.maxAge {
					due = append(due, a.takeLocked(k))
				}
			}
			a.mu.Unlock()
			for _, b := range due {
				a.flush(b)
			}
		}
	}
}

// archiveAfterPut, when set by a test, runs after an object was stored
// and before the manifest and the acknowledgements: an error it returns is
// the flush's, as when the process dies there.
var archiveAfterPut func(name string) error

// flush writes b as one object, updates its manifest and tells b's
// handlers.
func (a *Archiver) flush(b *archiveBucket) {
	err := a.write(b)
	for _, w := range b.waiters {
		w <- err
	}
}

func (a *Archiver) write(b *archiveBucket) error {
	// Sorted by time then id, and a record received twice kept once: the
	// same records always make the same bytes, hence the same name.
	slices.SortFunc(b.lines, func(x, y archiveEntry) int {
		return cmp.Or(x.t.Compare(y.t), strings.Compare(x.id, y.id))
	})
	b.lines = slices.CompactFunc(b.lines, func(x, y archiveEntry) bool { return x.id == y.id })
	var raw bytes.Buffer
	for _, e := range b.lines {
		raw.Write(e.line)
		raw.WriteByte('\n')
	}
	sum := sha256.Sum256(raw.Bytes())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz) // no name, no mtime: the bytes depend on the records alone
	_, _ = zw.Write(raw.Bytes())
	_ = zw.Close() // writes to memory: cannot fail
	hour := time.Unix(b.key.hour, 0).UTC()
	dir := archiveHourDir(a.prefix, b.key.service, hour)
	name := archiveObjectName(dir, hour, b.lines[0].t, b.lines[len(b.lines)-1].t, len(b.lines), sum[:])

	size := int64(gz.Len()) // before Put drains gz
	_, err := a.store.Put(a.work, name, &gz, &filestore.PutOptions{ContentType: "application/x-ndjson", IfNotExist: true, Size: size})
	switch {
	case errors.Is(err, fs.ErrExist):
		// The name is the content's hash: these records are stored
		// already (a redelivery after a crash before the acks).
		a.tel.objExisting.add(1)
	case err != nil:
		a.tel.objFailed.add(1)
		return fmt.Errorf("logship: archive %d records of %q: %w", len(b.lines), b.key.service, err)
	default:
		a.tel.objWritten.add(1)
		a.tel.bytes.add(size)
		a.tel.records.add(int64(len(b.lines)))
	}
	if h := archiveAfterPut; h != nil {
		if err := h(name); err != nil {
			return err
		}
	}
	if err := a.updateManifest(dir, b.key.service, hour); err != nil {
		// The object is stored and a listing finds it (the reader lists):
		// the messages are acknowledged; the next flush of this hour
		// rewrites the manifest from the listing.
		a.tel.manifestFailed.add(1)
		a.o.logger.Warn("logship: archive manifest not updated", "manifest", dir+archiveManifest, "err", err)
	}
	return nil
}

// updateManifest rewrites dir's manifest from a listing of dir: whatever
// happened before (a crash between an object and its manifest, another
// Archiver's object) the new manifest lists every object the listing saw.
func (a *Archiver) updateManifest(dir, service string, hour time.Time) error {
	m := manifest{Service: service, Hour: hour, Objects: []manifestObject{}, Updated: time.Now().UTC()}
	for info, err := range a.store.List(a.work, dir) {
		if err != nil {
			return err
		}
		o, ok := parseArchiveObject(info.Name, hour)
		if !ok {
			continue
		}
		m.Objects = append(m.Objects, manifestObject{Name: o.Name, First: o.First, Last: o.Last, Records: o.Records, Bytes: info.Size})
		m.Records += o.Records
	}
	doc, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	_, err = a.store.Put(a.work, dir+archiveManifest, bytes.NewReader(doc), &filestore.PutOptions{ContentType: "application/json"})
	return err
}

// Shutdown writes every record received, stops the subscription (waiting
// for its handlers, which acknowledge what was written) and the
// Archiver's goroutines. When ctx ends first, the store calls under way
// are cancelled and the records not written stay unacknowledged, to be
// redelivered to the group's next member. It is idempotent and returns
// the first call's result. It closes neither the consumer nor the store.
func (a *Archiver) Shutdown(ctx context.Context) error {
	a.shutOnce.Do(func() {
		stop := context.AfterFunc(ctx, a.cancelWork)
		defer stop()
		a.mu.Lock()
		a.closing = true
		due := a.takeAllLocked()
		a.mu.Unlock()
		for _, b := range due {
			a.flush(b)
		}
		a.shutErr = a.sub.Shutdown(ctx)
		a.stop()
	})
	return a.shutErr
}

func (a *Archiver) stop() {
	close(a.stopTick)
	<-a.tickDone
	a.cancelWork()
	a.tel.close()
}
