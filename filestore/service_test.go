package filestore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/groundwork-go/groundwork/filestore"
	_ "github.com/groundwork-go/groundwork/filestore/localstore"
	_ "github.com/groundwork-go/groundwork/filestore/s3store"
	"github.com/groundwork-go/groundwork/filestore/storetest"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/resilience"
)

var ctx = context.Background()

func localStore(t *testing.T) *filestore.Store {
	s, err := filestore.Open(ctx, "file://"+t.TempDir()+"?fsync=false")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func s3Store(t *testing.T) (*filestore.Store, *testserver.S3) {
	gw := testserver.StartS3(t, "files")
	gw.UseCredentials(t)
	s, err := filestore.Open(ctx, gw.URL("files", ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, gw
}

func newService(t *testing.T, o filestore.ServiceOptions) *filestore.Service {
	svc, err := filestore.NewService(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return svc
}

func download(t *testing.T, svc *filestore.Service, id string) []byte {
	t.Helper()
	r, _, err := svc.Download(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// legacyTiers are the names the Service gave backends before users named
// them.
var legacyTiers = filestore.Tiers{Fast: "nfs", Durable: "hdfs", Archive: "s3", Last: []string{"local"}}

// TestTieredPolicy: the seed's rule table, by size and priority, with
// the names the Service used to fix.
func TestTieredPolicy(t *testing.T) {
	cases := []struct {
		o     filestore.UploadOptions
		first string
	}{
		{filestore.UploadOptions{Size: 1 << 20, Priority: filestore.PriorityLatency}, "nfs"},
		{filestore.UploadOptions{Size: 1 << 20}, "hdfs"},
		{filestore.UploadOptions{}, "hdfs"},
		{filestore.UploadOptions{Size: 99_999_999, Priority: filestore.PriorityLatency}, "nfs"},
		{filestore.UploadOptions{Size: 100_000_000, Priority: filestore.PriorityDurability}, "hdfs"},
		{filestore.UploadOptions{Size: 100_000_000}, "s3"},
		{filestore.UploadOptions{Size: 5e9, Priority: filestore.PriorityArchive}, "s3"},
		{filestore.UploadOptions{Size: 5e9, Priority: filestore.PriorityLatency}, "s3"},
	}
	for _, c := range cases {
		got := filestore.TieredPolicy(legacyTiers).Choose(c.o)
		if got[0] != c.first || len(got) != 4 || got[3] != "local" {
			t.Errorf("TieredPolicy(size %d, %q) = %v, want %s first, local last", c.o.Size, c.o.Priority, got, c.first)
		}
	}
}

// TestServiceRouting: uploads land on the backend the rule table picks
// among those configured; the metadata says where; download and delete
// work through it; observers hear of both.
func TestServiceRouting(t *testing.T) {
	s3s, _ := s3Store(t)
	nfs, hdfs := localStore(t), localStore(t) // stand-ins under the names the table uses
	var mu sync.Mutex
	var events []string
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "nfs", Store: nfs}, {Name: "hdfs", Store: hdfs}, {Name: "s3", Store: s3s}},
		Policy: filestore.TieredPolicy(filestore.Tiers{Fast: "nfs", Durable: "hdfs", Archive: "s3"}),
		Observers: []filestore.Observer{func(_ context.Context, e filestore.Event) {
			mu.Lock()
			events = append(events, string(e.Kind)+" "+e.File.Name)
			mu.Unlock()
		}}})
	for _, c := range []struct {
		o       filestore.UploadOptions
		backend string
	}{
		{filestore.UploadOptions{Name: "fast.txt", Priority: filestore.PriorityLatency}, "nfs"},
		{filestore.UploadOptions{Name: "normal.txt"}, "hdfs"},
		{filestore.UploadOptions{Name: "archive.bin", Size: 7, Priority: filestore.PriorityArchive}, "hdfs"},
	} {
		data := []byte("content")
		rec, err := svc.Upload(ctx, bytes.NewReader(data), c.o)
		if err != nil {
			t.Fatal(err)
		}
		id := rec.ID
		sum := sha256.Sum256(data)
		if rec.Backend != c.backend || rec.Size != 7 || !bytes.Equal(rec.SHA256, sum[:]) || rec.Name != c.o.Name || rec.State != filestore.FileReady {
			t.Fatalf("%s: record %+v, want backend %s", c.o.Name, rec, c.backend)
		}
		st, err := svc.Stat(ctx, id)
		if err != nil || st.Backend != c.backend {
			t.Fatalf("Stat: %+v %v", st, err)
		}
		if got := download(t, svc, id); !bytes.Equal(got, data) {
			t.Fatalf("download %q", got)
		}
		if err := svc.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.Download(ctx, id); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("download after delete: %v", err)
		}
		if _, err := svc.Backend(c.backend).Stat(ctx, rec.Path); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("object after delete: %v", err)
		}
	}
	want := []string{"uploaded fast.txt", "deleted fast.txt", "uploaded normal.txt", "deleted normal.txt", "uploaded archive.bin", "deleted archive.bin"}
	if !slices.Equal(events, want) {
		t.Fatalf("events %q, want %q", events, want)
	}
	if _, err := svc.Upload(ctx, strings.NewReader("x"), filestore.UploadOptions{}); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("upload without a name: %v", err)
	}
}

// TestServiceFailover: the preferred backend (S3) dies; uploads fail over
// to the next the policy allows, from the start of a seekable reader;
// once its breaker is open, uploads skip it and downloads of files on it
// fail at once with ErrBackendDown. A failed upload leaves no record.
func TestServiceFailover(t *testing.T) {
	s3s, gw := s3Store(t)
	local := localStore(t)
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "s3", Store: s3s}, {Name: "local", Store: local}},
		Policy:  filestore.Policy{Otherwise: []string{"s3", "local"}},
		Retry:   resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxAttempts: 2},
		Breaker: resilience.BreakerPolicy{ConsecutiveFailures: 3, OpenTimeout: time.Hour}})
	rec, err := svc.Upload(ctx, strings.NewReader("on s3"), filestore.UploadOptions{Name: "a"})
	if err != nil || rec.Backend != "s3" {
		t.Fatalf("upload with S3 up: %+v %v", rec, err)
	}
	onS3 := rec.ID
	gw.Kill()
	for i := range 3 {
		data := bytes.Repeat([]byte{byte('a' + i)}, 100_000)
		rec, err := svc.Upload(ctx, bytes.NewReader(data), filestore.UploadOptions{Name: "b"})
		if err != nil || rec.Backend != "local" {
			t.Fatalf("upload %d with S3 down: %+v %v", i, rec, err)
		}
		id := rec.ID
		if got := download(t, svc, id); !bytes.Equal(got, data) {
			t.Fatalf("failed-over upload %d read back %d bytes", i, len(got))
		}
	}
	if _, _, err := svc.Download(ctx, onS3); !errors.Is(err, filestore.ErrBackendDown) {
		t.Fatalf("download from the dead backend: %v, want ErrBackendDown", err)
	}
	// A reader that cannot rewind is not failed over once consumed... but
	// with S3's breaker open nothing is read, so it goes to local at once.
	if rec, err := svc.Upload(ctx, io.MultiReader(strings.NewReader("once")), filestore.UploadOptions{Name: "c"}); err != nil || rec.Backend != "local" {
		t.Fatalf("non-seekable upload with the breaker open: %+v %v", rec, err)
	}
}

// failingReader yields n bytes, then fails.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("client went away")
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

// TestServiceConsistency: a failed upload leaves neither record nor
// object; a crash's leftovers (a pending record with its object, a
// half-deleted file, an abandoned resumable upload) are removed by
// Cleanup once stale.
func TestServiceConsistency(t *testing.T) {
	local := localStore(t)
	meta := filestore.NewMemoryMetadata()
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: local}}, Metadata: meta,
		StaleAfter: time.Nanosecond})
	if _, err := svc.Upload(ctx, &failingReader{n: 1 << 20}, filestore.UploadOptions{Name: "broken"}); err == nil {
		t.Fatal("upload from a failing reader succeeded")
	}
	if stale, _ := meta.StaleFiles(ctx, time.Now().Add(time.Hour)); len(stale) != 0 {
		t.Fatalf("records left by a failed upload: %+v", stale)
	}
	assertNoObjects(t, local, "filestore/files/")

	// Leftovers of a crash: an object whose record stayed pending.
	if _, err := local.Put(ctx, "filestore/files/ab/abandoned", strings.NewReader("orphan"), nil); err != nil {
		t.Fatal(err)
	}
	if err := meta.CreateFile(ctx, &filestore.FileRecord{ID: "abandoned", Backend: "local", Path: "filestore/files/ab/abandoned",
		State: filestore.FilePending, Created: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	up, err := svc.StartUpload(ctx, filestore.UploadOptions{Name: "never finished"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.WritePart(ctx, 1, strings.NewReader("part one")); err != nil {
		t.Fatal(err)
	}
	if err := svc.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := meta.GetFile(ctx, "abandoned"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("pending record after Cleanup: %v", err)
	}
	if _, err := svc.ResumeUpload(ctx, up.ID()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("stale upload after Cleanup: %v", err)
	}
	assertNoObjects(t, local, "")
}

func assertNoObjects(t *testing.T, s *filestore.Store, prefix string) {
	t.Helper()
	for info, err := range s.List(ctx, prefix) {
		if err != nil {
			t.Fatal(err)
		}
		t.Fatalf("object left behind: %s", info.Name)
	}
}

// TestResumableUpload runs on local disk (parts as objects, composed) and
// on S3 (native multipart): parts survive a "restart" (a new Service on
// the same metadata), the upload resumes after the last stored part, and
// Complete yields the whole file with its SHA-256; no parts remain.
func TestResumableUpload(t *testing.T) {
	s3s, _ := s3Store(t)
	for name, st := range map[string]*filestore.Store{"local": localStore(t), "s3": s3s} {
		t.Run(name, func(t *testing.T) {
			meta := filestore.NewMemoryMetadata()
			opts := filestore.ServiceOptions{Backends: []filestore.Backend{{Name: name, Store: st}}, Metadata: meta}
			parts := [][]byte{bytes.Repeat([]byte("1"), 5<<20), bytes.Repeat([]byte("2"), 5<<20), []byte("tail")}
			var whole []byte
			for _, p := range parts {
				whole = append(whole, p...)
			}
			first := newService(t, opts)
			up, err := first.StartUpload(ctx, filestore.UploadOptions{Name: "video.mp4", ContentType: "video/mp4", Size: int64(len(whole))})
			if err != nil {
				t.Fatal(err)
			}
			for n, p := range parts[:2] {
				if _, err := up.WritePart(ctx, n+1, bytes.NewReader(p)); err != nil {
					t.Fatal(err)
				}
			}
			first.Close() // the process "restarts"

			second := newService(t, opts)
			up, err = second.ResumeUpload(ctx, up.ID())
			if err != nil {
				t.Fatal(err)
			}
			done, err := up.Parts(ctx)
			if err != nil || len(done) != 2 || done[1].Number != 2 || done[1].Size != 5<<20 {
				t.Fatalf("parts after resuming: %+v %v", done, err)
			}
			if _, err := up.WritePart(ctx, 3, bytes.NewReader(parts[2])); err != nil {
				t.Fatal(err)
			}
			rec, err := up.Complete(ctx)
			if err != nil {
				t.Fatal(err)
			}
			id := rec.ID
			sum := sha256.Sum256(whole)
			if rec.Size != int64(len(whole)) || !bytes.Equal(rec.SHA256, sum[:]) || rec.Backend != name {
				t.Fatalf("record %+v", rec)
			}
			if got := download(t, second, id); !bytes.Equal(got, whole) {
				t.Fatalf("downloaded %d bytes, want %d", len(got), len(whole))
			}
			assertNoObjects(t, st, "filestore/uploads/")
			if name == "s3" {
				assertNoMultipart(t, st)
			}
			// Abort discards.
			up, err = second.StartUpload(ctx, filestore.UploadOptions{Name: "dropped"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := up.WritePart(ctx, 1, bytes.NewReader(parts[0])); err != nil {
				t.Fatal(err)
			}
			if _, err := up.WritePart(ctx, 3, bytes.NewReader(parts[2])); err != nil {
				t.Fatal(err)
			}
			if _, err := up.Complete(ctx); !errors.Is(err, fs.ErrInvalid) || !strings.Contains(err.Error(), "part 2 is missing") {
				t.Fatalf("Complete with a gap: %v", err)
			}
			if err := up.Abort(ctx); err != nil {
				t.Fatal(err)
			}
			assertNoObjects(t, st, "filestore/uploads/")
			if name == "s3" {
				assertNoMultipart(t, st)
			}
		})
	}
}

func assertNoMultipart(t *testing.T, st *filestore.Store) {
	t.Helper()
	var c *s3.Client
	if !st.As(&c) {
		t.Fatal("As(*s3.Client)")
	}
	out, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("files")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 0 {
		t.Fatalf("%d multipart uploads left", len(out.Uploads))
	}
}

func TestMemoryMetadata(t *testing.T) {
	storetest.RunMetadataTests(t, func(*testing.T) filestore.MetadataStore { return filestore.NewMemoryMetadata() })
}

// TestUploadRefusesTextNoStoreKeeps: text a metadata store cannot keep
// (PostgreSQL refuses NUL anywhere and invalid UTF-8; JSON replaces the
// latter) is refused by Upload and StartUpload at once, with
// fs.ErrInvalid naming the field — whatever the metadata store, and
// before anything is stored, rather than by Complete after every part
// was sent.
func TestUploadRefusesTextNoStoreKeeps(t *testing.T) {
	st := localStore(t)
	meta := filestore.NewMemoryMetadata()
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: st}}, Metadata: meta})
	for field, o := range map[string]filestore.UploadOptions{
		"Owner":         {Name: "ok.txt", Owner: "alice\x00admin"},
		"ContentType":   {Name: "ok.txt", ContentType: "text/plain\x00"},
		"Name":          {Name: "caf\xe9.txt"}, // Latin-1, not UTF-8
		`Metadata["k"]`: {Name: "ok.txt", Metadata: map[string]string{"k": "a\x00b"}},
		"SHA256":        {Name: "ok.txt", SHA256: []byte{1, 2, 3}},
	} {
		if _, err := svc.Upload(ctx, strings.NewReader("x"), o); !errors.Is(err, fs.ErrInvalid) || !strings.Contains(err.Error(), field) {
			t.Errorf("Upload with a bad %s: %v; want fs.ErrInvalid naming it", field, err)
		}
		if _, err := svc.StartUpload(ctx, o); !errors.Is(err, fs.ErrInvalid) || !strings.Contains(err.Error(), field) {
			t.Errorf("StartUpload with a bad %s: %v; want fs.ErrInvalid naming it", field, err)
		}
	}
	assertNoObjects(t, st, "")
	if stale, _ := meta.StaleFiles(ctx, time.Now().Add(time.Hour)); len(stale) != 0 {
		t.Fatalf("records left by refused uploads: %+v", stale)
	}
}

// TestContextErrorsAsTheyAre: when the caller's ctx ends, Upload,
// WritePart and Complete return its error as it is, unwrapped (as the
// package's callers compare it); other errors name the operation.
func TestContextErrorsAsTheyAre(t *testing.T) {
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: localStore(t)}}})
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := svc.Upload(cancelled, strings.NewReader("x"), filestore.UploadOptions{Name: "x"}); err != context.Canceled {
		t.Errorf("Upload with its ctx cancelled: %v, want context.Canceled as it is", err)
	}
	up, err := svc.StartUpload(ctx, filestore.UploadOptions{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.WritePart(cancelled, 1, strings.NewReader("x")); err != context.Canceled {
		t.Errorf("WritePart with its ctx cancelled: %v, want context.Canceled as it is", err)
	}
	if _, err := up.WritePart(ctx, 1, strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := up.Complete(cancelled); err != context.Canceled {
		t.Errorf("Complete with its ctx cancelled: %v, want context.Canceled as it is", err)
	}
	if err := up.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := up.Parts(ctx); !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "filestore: upload ") {
		t.Errorf("Parts of an aborted upload: %v; want fs.ErrNotExist, saying which operation failed", err)
	}
	if _, err := up.Complete(ctx); !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "filestore: complete upload ") {
		t.Errorf("Complete of an aborted upload: %v; want fs.ErrNotExist, saying which operation failed", err)
	}
}
