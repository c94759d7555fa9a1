package logship

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/groundwork-go/groundwork/filestore"
	_ "github.com/groundwork-go/groundwork/filestore/localstore"
	_ "github.com/groundwork-go/groundwork/filestore/memstore"
	_ "github.com/groundwork-go/groundwork/filestore/s3store"
	"github.com/groundwork-go/groundwork/internal/otelcheck"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/resilience"
)

// archiveStores are the real stores the Archiver is tested against.
var archiveStores = []struct {
	name string
	open func(t *testing.T) *filestore.Store
}{
	{"file", func(t *testing.T) *filestore.Store {
		return archiveOpenStore(t, "file://"+filepath.ToSlash(t.TempDir()))
	}},
	{"s3", func(t *testing.T) *filestore.Store {
		gw := testserver.StartS3(t, "cold")
		gw.UseCredentials(t)
		return archiveOpenStore(t, gw.URL("cold", "tier/"))
	}},
}

func archiveOpenStore(t *testing.T, url string) *filestore.Store {
	t.Helper()
	s, err := filestore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func archiveOpenBroker(t *testing.T, url string) *mq.Client {
	t.Helper()
	c, err := mq.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func archivePublish(t *testing.T, c *mq.Client, recs []Record) {
	t.Helper()
	res, err := MQSink(c, "logs").Write(context.Background(), recs)
	if err != nil || len(res.Failures) != 0 {
		t.Fatalf("publish: %v %+v", err, res)
	}
}

// archiveRead reads service's archive in [from, to): the records in the
// order yielded, and the errors.
func archiveRead(t *testing.T, s *filestore.Store, prefix, service string, from, to time.Time) ([]Record, []error) {
	t.Helper()
	var recs []Record
	var errs []error
	for r, err := range ReadArchive(context.Background(), s, prefix, service, from, to) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		recs = append(recs, r)
	}
	return recs, errs
}

// archiveWaitFor reads until service's archive holds n records, failing t
// after a generous deadline.
func archiveWaitFor(t *testing.T, s *filestore.Store, prefix, service string, from, to time.Time, n int) []Record {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		recs, errs := archiveRead(t, s, prefix, service, from, to)
		if len(errs) > 0 {
			t.Fatalf("read archive: %v", errs)
		}
		if len(recs) >= n || time.Now().After(deadline) {
			if len(recs) != n {
				t.Fatalf("%q: %d records archived, want %d", service, len(recs), n)
			}
			return recs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// archiveCheck checks that got holds exactly want, each once and intact.
func archiveCheck(t *testing.T, got, want []Record) {
	t.Helper()
	byID := map[string]Record{}
	for _, r := range got {
		if _, dup := byID[r.ID]; dup {
			t.Errorf("record %s yielded twice", r.ID)
		}
		byID[r.ID] = r
	}
	if len(byID) != len(want) {
		t.Errorf("%d distinct records, want %d", len(byID), len(want))
	}
	for _, w := range want {
		if d := mqfileSameRecord(byID[w.ID], w); d != "" {
			t.Error(d)
		}
	}
}

// TestArchiverEndToEnd: records of two services across two hours go
// through a real broker (Redis) to the store (local disk, S3) and come
// back intact, by time range, with a manifest per service and hour and
// the telemetry counting them.
func TestArchiverEndToEnd(t *testing.T) {
	for _, st := range archiveStores {
		t.Run(st.name, func(t *testing.T) {
			mqfileLeakCheck(t)
			store := st.open(t)
			c := archiveOpenBroker(t, testserver.StartRedis(t, nil).URL+"?block=100ms&ack_interval=20ms")
			start := time.Date(2026, 11, 30, 10, 59, 59, 990_000_000, time.UTC) // 10 records in hour 10, 20 in hour 11
			orders, billing := mqfileRecords("orders", start, 30), mqfileRecords("billing", start, 30)
			reader := sdkmetric.NewManualReader()
			a, err := NewArchiver(c, "logs", "archive", store, WithArchivePrefix("cold/"), WithArchiveFlush(7, 1<<20, 30*time.Millisecond),
				WithArchiveMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
			if err != nil {
				t.Fatal(err)
			}
			archivePublish(t, c, orders)
			archivePublish(t, c, billing)
			end := start.Add(time.Hour)
			got := archiveWaitFor(t, store, "cold", "orders", start, end, 30)
			archiveCheck(t, got, orders)
			archiveCheck(t, archiveWaitFor(t, store, "cold", "billing", start, end, 30), billing)
			totals := otelcheck.Totals(t, reader, func(p otelcheck.Point) string {
				return strings.TrimPrefix(p.Metric, "logship.archive.") + "/" + p.Attr("outcome")
			})
			if totals["records/"] != 60 || totals["objects/written"] < 6 || totals["bytes/"] == 0 || totals["objects/failed"] != 0 {
				t.Errorf("telemetry %v", totals)
			}
			if err := a.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := a.Shutdown(context.Background()); err != nil {
				t.Fatalf("second Shutdown: %v", err)
			}

			// A sub-range: exactly the records in it.
			from, to := start.Add(5*time.Millisecond), start.Add(15*time.Millisecond)
			sub, errs := archiveRead(t, store, "cold/", "orders", from, to)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			archiveCheck(t, sub, orders[5:15])

			// A manifest per service and hour, listing the objects.
			for _, dir := range []string{"cold/orders/2026/11/30/10/", "cold/orders/2026/11/30/11/", "cold/billing/2026/11/30/11/"} {
				m := archiveManifestOf(t, store, dir)
				if len(m.Objects) == 0 || m.Records < 10 {
					t.Errorf("%s: manifest %+v", dir, m)
				}
			}

		})
	}
}

func archiveManifestOf(t *testing.T, s *filestore.Store, dir string) manifest {
	t.Helper()
	rd, err := s.Open(context.Background(), dir+archiveManifest)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var m manifest
	if err := json.NewDecoder(rd).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestArchiverRedelivery: an Archiver dies after storing an object and
// before acknowledging its messages, with more records received and not
// yet written; its successor, in the same group, gets them all again and
// writes them in another composition. Every record is stored at least
// once, some twice, and the reader yields each event id once.
func TestArchiverRedelivery(t *testing.T) {
	mqfileLeakCheck(t)
	store := archiveOpenStore(t, "file://"+filepath.ToSlash(t.TempDir()))
	c := archiveOpenBroker(t, "mem://archiver-redelivery")
	crashed := make(chan string, 1)
	var once atomic.Bool
	archiveAfterPut = func(name string) error {
		if once.CompareAndSwap(false, true) {
			crashed <- name
			return errors.New("died after the Put")
		}
		return nil
	}
	t.Cleanup(func() { archiveAfterPut = nil })

	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	recs := mqfileRecords("orders", start, 12)
	// A redelivery that would wait an hour: A never sees its failed
	// messages again; only the successor does.
	a, err := NewArchiver(c, "logs", "archive", store, WithArchiveFlush(5, 1<<20, time.Hour),
		WithArchiveSubscribeOptions(mq.WithRedeliveryBackoff(resilience.RetryPolicy{InitialInterval: time.Hour, MaxInterval: time.Hour})))
	if err != nil {
		t.Fatal(err)
	}
	archivePublish(t, c, recs)
	first := <-crashed
	a.kill()

	b, err := NewArchiver(c, "logs", "archive", store, WithArchiveFlush(100, 1<<20, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	got := archiveWaitFor(t, store, "logs", "orders", start, start.Add(time.Hour), len(recs))
	archiveCheck(t, got, recs)
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The dead Archiver's object is there, and its records are stored
	// again: the reader's dedup was needed.
	stored := 0
	for info, err := range store.List(context.Background(), "logs/orders/") {
		if err != nil {
			t.Fatal(err)
		}
		if o, ok := parseArchiveObject(info.Name, start); ok {
			stored += o.Records
		}
	}
	if _, err := store.Stat(context.Background(), first); err != nil || stored <= len(recs) {
		t.Fatalf("first object %q: %v; %d records stored for %d sent", first, err, stored, len(recs))
	}
	// The manifest, written by the successor, lists the dead one's object
	// too: it is rebuilt from the listing.
	m := archiveManifestOf(t, store, "logs/orders/2026/11/30/10/")
	found := false
	for _, o := range m.Objects {
		found = found || o.Name == first
	}
	if !found {
		t.Fatalf("manifest %+v lacks the first object %q", m, first)
	}
}

// TestArchiverHostileServices: service names that are not path segments
// are escaped, one-to-one, and nothing lands outside the store's
// directory.
func TestArchiverHostileServices(t *testing.T) {
	mqfileLeakCheck(t)
	root := t.TempDir()
	dir := filepath.Join(root, "store")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	store := archiveOpenStore(t, "file://"+filepath.ToSlash(dir))
	c := archiveOpenBroker(t, "mem://archiver-hostile")
	services := []string{"../../escape", "..", ".", "", "a/b", "a%2Fb", "%", "/abs", "ctl\x00\x01\n", "é", "a b", `a\b`, ".hidden", "-"}
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	var all []Record
	for i, svc := range services {
		r := mqfileRecords("x", start.Add(time.Duration(i)*time.Second), 1)[0]
		r.Service, r.ID = svc, fmt.Sprintf("hostile-%d", i)
		all = append(all, r)
	}
	a, err := NewArchiver(c, "logs", "archive", store, WithArchiveFlush(100, 1<<20, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background())
	archivePublish(t, c, all)
	for _, r := range all {
		got := archiveWaitFor(t, store, "logs", r.Service, start, start.Add(time.Hour), 1)
		archiveCheck(t, got, []Record{r})
	}
	// Nothing outside the store's directory.
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Fatalf("the store's parent holds %v", entries)
	}
}

func TestEscapeService(t *testing.T) {
	seen := map[string]string{}
	for _, s := range []string{"", ".", "..", "a", "A-b.c", "a/b", "a%2Fb", "%", "%25", "é", "\x00", ".a", "a.", "a..b", "_"} {
		e := escapeService(s)
		if prev, dup := seen[e]; dup {
			t.Errorf("%q and %q both escape to %q", prev, s, e)
		}
		seen[e] = s
		if err := filestore.ValidName("p/" + e + "/x"); err != nil || e == "." || e == ".." || strings.ContainsAny(e, "/\\\x00") {
			t.Errorf("%q escapes to %q, not a safe segment (%v)", s, e, err)
		}
	}
}

func FuzzEscapeService(f *testing.F) {
	f.Add("..")
	f.Add("a/b")
	f.Fuzz(func(t *testing.T, s string) {
		e := escapeService(s)
		if e == "." || e == ".." || strings.ContainsAny(e, "/\\\x00") || filestore.ValidName(e) != nil {
			t.Fatalf("%q escapes to %q", s, e)
		}
		if s != "" && escapeService(s+"x") == e {
			t.Fatal("not one-to-one")
		}
	})
}

// TestArchiveReaderCorrupt: a truncated object yields an error naming it,
// and the reader goes on with the other objects.
func TestArchiveReaderCorrupt(t *testing.T) {
	mqfileLeakCheck(t)
	store := archiveOpenStore(t, "file://"+filepath.ToSlash(t.TempDir()))
	c := archiveOpenBroker(t, "mem://archiver-corrupt")
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	recs := mqfileRecords("orders", start, 10)
	a, err := NewArchiver(c, "logs", "archive", store, WithArchiveFlush(100, 1<<20, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	archivePublish(t, c, recs)
	archiveWaitFor(t, store, "logs", "orders", start, start.Add(time.Hour), 10)
	if err := a.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A second object, of later records, cut in half.
	var good string
	for info, err := range store.List(context.Background(), "logs/orders/") {
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := parseArchiveObject(info.Name, start); ok {
			good = info.Name
		}
	}
	rd, err := store.Open(context.Background(), good)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rd)
	rd.Close()
	bad := archiveObjectName("logs/orders/2026/11/30/10/", start, start.Add(time.Minute), start.Add(time.Minute), 10, bytes.Repeat([]byte{0xee}, 32))
	if _, err := store.Put(context.Background(), bad, bytes.NewReader(data[:len(data)/2]), nil); err != nil {
		t.Fatal(err)
	}
	got, errs := archiveRead(t, store, "logs", "orders", start, start.Add(time.Hour))
	archiveCheck(t, got, recs)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), bad) || !errors.Is(errs[0], io.ErrUnexpectedEOF) {
		t.Fatalf("errors %v, want one naming %q (unexpected EOF)", errs, bad)
	}
}

func TestNewArchiverInvalid(t *testing.T) {
	mqfileLeakCheck(t)
	store := archiveOpenStore(t, "mem://")
	c := archiveOpenBroker(t, "mem://archiver-invalid")
	for name, tc := range map[string]struct {
		c            *mq.Client
		topic, group string
		s            *filestore.Store
		opt          ArchiveOption
	}{
		"nil consumer": {nil, "logs", "g", store, nil},
		"nil store":    {c, "logs", "g", nil, nil},
		"empty topic":  {c, "", "g", store, nil},
		"empty group":  {c, "logs", "", store, nil},
		"bad flush":    {c, "logs", "g", store, WithArchiveFlush(0, 1, time.Second)},
		"bad prefix":   {c, "logs", "g", store, WithArchivePrefix("../up")},
	} {
		if a, err := NewArchiver(tc.c, tc.topic, tc.group, tc.s, tc.opt); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
			if a != nil {
				a.Shutdown(context.Background())
			}
		}
	}
}

// TestArchiverShutdownFlushes: records waiting for their age are written
// by Shutdown, and acknowledged: a successor in the group gets nothing.
func TestArchiverShutdownFlushes(t *testing.T) {
	mqfileLeakCheck(t)
	store := archiveOpenStore(t, "file://"+filepath.ToSlash(t.TempDir()))
	c := archiveOpenBroker(t, "mem://archiver-shutdown")
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	recs := mqfileRecords("orders", start, 3)
	a, err := NewArchiver(c, "logs", "archive", store, WithArchiveFlush(100, 1<<20, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	archivePublish(t, c, recs)
	deadline := time.Now().Add(60 * time.Second)
	for {
		a.mu.Lock()
		n := a.pending
		a.mu.Unlock()
		if n == len(recs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records pending, want %d", n, len(recs))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got, _ := archiveRead(t, store, "logs", "orders", start, start.Add(time.Hour)); len(got) != 0 {
		t.Fatalf("written before Shutdown: %d", len(got))
	}
	if err := a.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, errs := archiveRead(t, store, "logs", "orders", start, start.Add(time.Hour))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	archiveCheck(t, got, recs)
	// Acknowledged: the group has nothing left for a successor, which
	// would write it again.
	b, err := NewArchiver(c, "logs", "archive", store, WithArchiveFlush(1, 1<<20, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b.tel.objWritten.n.Load()+b.tel.objExisting.n.Load() != 0 {
		t.Fatal("the successor got messages the first acknowledged")
	}
}
