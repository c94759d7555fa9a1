package filestore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/resilience"
)

// resumable starts an upload of two parts (5 MiB and a tail, as S3's
// part sizes allow) on the only backend of svc and returns it with the
// whole content.
func resumable(t *testing.T, svc *filestore.Service) (*filestore.Upload, []byte) {
	t.Helper()
	parts := [][]byte{bytes.Repeat([]byte("a"), 5<<20), []byte("and the tail")}
	up, err := svc.StartUpload(ctx, filestore.UploadOptions{Name: "clip.mp4"})
	if err != nil {
		t.Fatal(err)
	}
	var whole []byte
	for i, p := range parts {
		if _, err := up.WritePart(ctx, i+1, bytes.NewReader(p)); err != nil {
			t.Fatal(err)
		}
		whole = append(whole, p...)
	}
	return up, whole
}

// completeBackends are the two ways Complete assembles: part objects
// composed (local disk) and S3's native multipart upload.
func completeBackends(t *testing.T) map[string]*filestore.Store {
	s3s, _ := s3Store(t)
	return map[string]*filestore.Store{"local": localStore(t), "s3": s3s}
}

// checkComplete asserts that id is a ready file holding whole, with its
// digest, and that no part is left behind.
func checkComplete(t *testing.T, svc *filestore.Service, st *filestore.Store, backend, id string, rec *filestore.FileRecord, whole []byte) {
	t.Helper()
	sum := sha256.Sum256(whole)
	if rec.ID != id || rec.State != filestore.FileReady || rec.Size != int64(len(whole)) || !bytes.Equal(rec.SHA256, sum[:]) {
		t.Fatalf("record %+v", rec)
	}
	if got := download(t, svc, id); !bytes.Equal(got, whole) {
		t.Fatalf("downloaded %d bytes, want %d", len(got), len(whole))
	}
	assertNoObjects(t, st, "filestore/uploads/")
	if backend == "s3" {
		assertNoMultipart(t, st)
	}
}

// TestCompleteRetryAfterFailedWrite: the last metadata write of Complete
// (marking the file ready) fails; the parts are still there, so Complete
// again — on the same Upload, or resumed in another process — finishes
// the file.
func TestCompleteRetryAfterFailedWrite(t *testing.T) {
	for name, st := range completeBackends(t) {
		t.Run(name, func(t *testing.T) {
			meta := &hookedMeta{MetadataStore: filestore.NewMemoryMetadata()}
			opts := filestore.ServiceOptions{Backends: []filestore.Backend{{Name: name, Store: st}}, Metadata: meta}
			svc := newService(t, opts)
			up, whole := resumable(t, svc)
			meta.setBeforeUpdate(failOnce(filestore.FileReady, errors.New("test: the database went away")))
			if _, err := up.Complete(ctx); err == nil {
				t.Fatal("Complete succeeded though marking the file ready failed")
			}
			if _, err := svc.Stat(ctx, up.ID()); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("a file not marked ready is visible: %v", err)
			}
			rec, err := up.Complete(ctx)
			if err != nil {
				t.Fatalf("Complete retried: %v", err)
			}
			id := rec.ID
			checkComplete(t, svc, st, name, id, rec, whole)

			// Once more, from a new process: the same record.
			again, err := newService(t, opts).ResumeUpload(ctx, id)
			if err != nil {
				t.Fatalf("ResumeUpload of a completed upload: %v", err)
			}
			rec2, err := again.Complete(ctx)
			if err != nil || rec2.ID != id || !bytes.Equal(rec2.SHA256, rec.SHA256) || rec2.Size != rec.Size || !rec2.Created.Equal(rec.Created) {
				t.Fatalf("Complete of a completed upload: %+v %v; want %+v", rec2, err, rec)
			}
			if _, err := again.WritePart(ctx, 3, bytes.NewReader([]byte("late"))); !errors.Is(err, fs.ErrInvalid) {
				t.Fatalf("WritePart to a completed upload: %v", err)
			}
			assertNoObjects(t, st, "filestore/uploads/")
		})
	}
}

// TestCompleteRepeated: a client that lost Complete's answer calls it
// again through an Upload it resumed before; it gets the same record,
// and the file stays ready (Cleanup leaves it).
func TestCompleteRepeated(t *testing.T) {
	for name, st := range completeBackends(t) {
		t.Run(name, func(t *testing.T) {
			svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: name, Store: st}}, StaleAfter: time.Hour})
			clk := withClock(svc)
			up, whole := resumable(t, svc)
			other, err := svc.ResumeUpload(ctx, up.ID())
			if err != nil {
				t.Fatal(err)
			}
			rec, err := up.Complete(ctx)
			if err != nil {
				t.Fatal(err)
			}
			id := rec.ID
			rec2, err := other.Complete(ctx)
			if err != nil || rec2.ID != id || rec2.Size != rec.Size || !bytes.Equal(rec2.SHA256, rec.SHA256) {
				t.Fatalf("second Complete: %+v %v; want the first one's %+v", rec2, err, rec)
			}
			clk.advance(2 * time.Hour)
			if err := svc.Cleanup(ctx); err != nil {
				t.Fatal(err)
			}
			st2, err := svc.Stat(ctx, id)
			if err != nil || st2.State != filestore.FileReady {
				t.Fatalf("after a repeated Complete and Cleanup: %+v %v", st2, err)
			}
			checkComplete(t, svc, st, name, id, st2, whole)
		})
	}
}

// TestCompleteConcurrent: two Completes of one upload (a client retrying
// while the first is still running): the second starts once the first
// has assembled the file and is about to mark it ready, assembles it too
// (S3: finds the multipart upload completed) and both meet at the move to
// ready: one wins the compare-and-set, and both return the same record;
// observers hear of the file once.
func TestCompleteConcurrent(t *testing.T) {
	for name, st := range completeBackends(t) {
		t.Run(name, func(t *testing.T) {
			meta := &hookedMeta{MetadataStore: filestore.NewMemoryMetadata()}
			var events atomic.Int32
			svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: name, Store: st}}, Metadata: meta,
				Observers: []filestore.Observer{func(context.Context, filestore.Event) { events.Add(1) }}})
			up, whole := resumable(t, svc)
			other, err := svc.ResumeUpload(ctx, up.ID())
			if err != nil {
				t.Fatal(err)
			}
			hook, first := meetAt(t, filestore.FileReady, 2)
			meta.setBeforeUpdate(hook)
			type result struct {
				rec *filestore.FileRecord
				err error
			}
			results := make([]result, 2)
			var wg sync.WaitGroup
			for i, u := range []*filestore.Upload{up, other} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rec, err := u.Complete(ctx)
					results[i] = result{rec, err}
				}()
				if i == 0 {
					select {
					case <-first:
					case <-time.After(time.Minute):
						t.Fatal("the first Complete never reached the move to ready")
					}
				}
			}
			wg.Wait()
			for i, r := range results {
				if r.err != nil {
					t.Fatalf("Complete %d: %v", i, r.err)
				}
			}
			a, b := results[0], results[1]
			if a.rec.ID != b.rec.ID || a.rec.Size != b.rec.Size || !bytes.Equal(a.rec.SHA256, b.rec.SHA256) || !a.rec.Created.Equal(b.rec.Created) {
				t.Fatalf("concurrent Completes returned %+v and %+v", a.rec, b.rec)
			}
			if n := events.Load(); n != 1 {
				t.Fatalf("%d upload events, want 1", n)
			}
			checkComplete(t, svc, st, name, a.rec.ID, a.rec, whole)
		})
	}
}

// TestUploadLostAnswer: a Put whose commit landed but whose answer was
// lost is retried; IfNotExist meets the object, whose digest is the one
// sent: the upload succeeds, with one object. Without a retry the upload
// fails and its object is removed with its record; if the object cannot
// be removed, the record stays pending and Cleanup removes both.
func TestUploadLostAnswer(t *testing.T) {
	lossy, st := newLossy(t)
	meta := filestore.NewMemoryMetadata()
	opts := filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: st}}, Metadata: meta, StaleAfter: time.Hour,
		Retry: resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxAttempts: 3}}
	svc := newService(t, opts)
	data := bytes.Repeat([]byte("x"), 300_000)

	lossy.loseCommits.Store(1)
	rec, err := svc.Upload(ctx, bytes.NewReader(data), filestore.UploadOptions{Name: "retried"})
	if err != nil {
		t.Fatalf("upload whose first answer was lost: %v", err)
	}
	id := rec.ID
	if got := download(t, svc, id); !bytes.Equal(got, data) || rec.State != filestore.FileReady {
		t.Fatalf("read back %d bytes, record %+v", len(got), rec)
	}
	if n := countObjects(t, st, "filestore/files/"); n != 1 {
		t.Fatalf("%d objects under files/, want 1", n)
	}

	opts.Retry.MaxAttempts = 1
	once := newService(t, opts)
	clk := withClock(once)
	lossy.loseCommits.Store(1)
	if _, err := once.Upload(ctx, bytes.NewReader(data), filestore.UploadOptions{Name: "unretried"}); !errors.Is(err, errLost) {
		t.Fatalf("upload whose answer was lost, no retry: %v", err)
	}
	if n := countObjects(t, st, "filestore/files/"); n != 1 {
		t.Fatalf("%d objects under files/ after a failed upload, want 1 (the first file's)", n)
	}

	lossy.loseCommits.Store(1)
	lossy.failDeletes.Store(true)
	if _, err := once.Upload(ctx, bytes.NewReader(data), filestore.UploadOptions{Name: "unremovable"}); err == nil {
		t.Fatal("upload succeeded")
	}
	lossy.failDeletes.Store(false)
	if n := countObjects(t, st, "filestore/files/"); n != 2 {
		t.Fatalf("%d objects under files/, want the first file's and the unremovable one", n)
	}
	stale, _ := meta.StaleFiles(ctx, time.Now().Add(time.Minute))
	if len(stale) != 1 || stale[0].State != filestore.FilePending {
		t.Fatalf("records left: %+v; want the unremovable object's, pending", stale)
	}
	clk.advance(2 * time.Hour)
	if err := once.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countObjects(t, st, "filestore/files/"); n != 1 {
		t.Fatalf("%d objects under files/ after Cleanup, want 1", n)
	}
	if _, err := once.Stat(ctx, id); err != nil {
		t.Fatalf("the good file after Cleanup: %v", err)
	}
}

func countObjects(t *testing.T, s *filestore.Store, prefix string) int {
	t.Helper()
	n := 0
	for _, err := range s.List(ctx, prefix) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// TestLostMetadataAnswer: marking the file ready happens but its answer
// is lost; Upload and Complete find the record ready and succeed.
func TestLostMetadataAnswer(t *testing.T) {
	meta := &hookedMeta{MetadataStore: filestore.NewMemoryMetadata()}
	st := localStore(t)
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: st}}, Metadata: meta})
	meta.loseAnswer.Store(true)
	rec, err := svc.Upload(ctx, strings.NewReader("kept"), filestore.UploadOptions{Name: "a"})
	if err != nil || rec.State != filestore.FileReady || string(download(t, svc, rec.ID)) != "kept" {
		t.Fatalf("Upload whose ready answer was lost: %+v %v", rec, err)
	}
	up, whole := resumable(t, svc)
	meta.loseAnswer.Store(true)
	rec, err = up.Complete(ctx)
	if err != nil {
		t.Fatalf("Complete whose ready answer was lost: %v", err)
	}
	checkComplete(t, svc, st, "local", rec.ID, rec, whole)
}

// events records what observers hear, as "kind id".
type events struct {
	mu  sync.Mutex
	got []string
}

func (e *events) observer(_ context.Context, ev filestore.Event) {
	e.mu.Lock()
	e.got = append(e.got, string(ev.Kind)+" "+ev.File.ID)
	e.mu.Unlock()
}

func (e *events) list() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.got)
}

// TestCompleteAfterDeleteIsNotExist: Complete made the file ready but
// could not remove the parts (a backend failure right then; or a crash),
// and answered success all the same. The file is deleted. A client that
// retries Complete — its first answer lost — through the Upload it has or
// one it resumes, must not bring the file back under the same ID: the
// upload ended when its file became ready, so Complete and ResumeUpload
// fail with fs.ErrNotExist, and observers heard of one upload.
func TestCompleteAfterDeleteIsNotExist(t *testing.T) {
	lossy, st := newLossy(t)
	var ev events
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "mem", Store: st}},
		Retry: resilience.RetryPolicy{MaxAttempts: 1}, Observers: []filestore.Observer{ev.observer}})
	up, err := svc.StartUpload(ctx, filestore.UploadOptions{Name: "secret.txt"})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range []string{"to be ", "forgotten"} {
		if _, err := up.WritePart(ctx, i+1, strings.NewReader(p)); err != nil {
			t.Fatal(err)
		}
	}
	lossy.failDeletes.Store(true) // the parts' removal after ready fails
	rec, err := up.Complete(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := rec.ID
	lossy.failDeletes.Store(false)
	if n := countObjects(t, st, "filestore/uploads/"); n != 2 {
		t.Fatalf("%d part objects left, want the 2 whose removal failed", n)
	}
	if err := svc.Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ResumeUpload(ctx, id); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ResumeUpload of an upload whose file was deleted: %v, want fs.ErrNotExist", err)
	}
	if _, err := up.Complete(ctx); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Complete again after the file was deleted: %v, want fs.ErrNotExist", err)
	}
	if rec, err := svc.Stat(ctx, id); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("deleted file %q after a retried Complete: %+v %v", id, rec, err)
	}
	if want := []string{"uploaded " + id, "deleted " + id}; !slices.Equal(ev.list(), want) {
		t.Fatalf("observers heard %q, want %q", ev.list(), want)
	}
	assertNoObjects(t, st, "filestore/files/")
}

// TestCompleteRacingDeleteIsNotExist: the same without a fault, as a
// race. Complete A makes the file ready and, before it removes the parts
// (here: while an Observer runs; equally a slow backend), the file is
// deleted and Completes that resumed the upload before and after run: the
// one resumed before finds the upload gone, the one resumed after finds
// nothing to resume. The file stays deleted.
func TestCompleteRacingDeleteIsNotExist(t *testing.T) {
	held, release := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	st := localStore(t)
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: st}},
		Observers: []filestore.Observer{func(_ context.Context, e filestore.Event) {
			if e.Kind == filestore.EventUploaded && first.CompareAndSwap(false, true) {
				close(held)
				<-release
			}
		}}})
	up, err := svc.StartUpload(ctx, filestore.UploadOptions{Name: "secret.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.WritePart(ctx, 1, strings.NewReader("to be forgotten")); err != nil {
		t.Fatal(err)
	}
	early, err := svc.ResumeUpload(ctx, up.ID())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := up.Complete(ctx)
		done <- err
	}()
	<-held // A: the file is ready, its parts still there
	if err := svc.Delete(ctx, up.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := early.Complete(ctx); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Complete of an upload resumed before, after its file was deleted: %v, want fs.ErrNotExist", err)
	}
	if _, err := svc.ResumeUpload(ctx, up.ID()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ResumeUpload after the file was deleted: %v, want fs.ErrNotExist", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rec, err := svc.Stat(ctx, up.ID()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("deleted file %q: %+v %v", up.ID(), rec, err)
	}
	assertNoObjects(t, st, "")
}

// TestCompleteOvertakenByCompleteAndDelete: Complete B has read the
// parts and is about to create the file's record when Complete A
// finishes the file (its parts' removal failing) and the file is
// deleted. B then creates a record, assembles the parts still there and
// moves to ready — which must fail, the upload having ended with A: B
// returns fs.ErrNotExist and undoes what it made, record and object.
func TestCompleteOvertakenByCompleteAndDelete(t *testing.T) {
	lossy, st := newLossy(t)
	meta := &hookedMeta{MetadataStore: filestore.NewMemoryMetadata()}
	var ev events
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "mem", Store: st}}, Metadata: meta,
		Retry: resilience.RetryPolicy{MaxAttempts: 1}, Observers: []filestore.Observer{ev.observer}})
	up, err := svc.StartUpload(ctx, filestore.UploadOptions{Name: "secret.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.WritePart(ctx, 1, strings.NewReader("to be forgotten")); err != nil {
		t.Fatal(err)
	}
	b, err := svc.ResumeUpload(ctx, up.ID())
	if err != nil {
		t.Fatal(err)
	}
	atCreate, goOn := make(chan struct{}), make(chan struct{})
	var once atomic.Bool
	meta.setBeforeCreate(func(*filestore.FileRecord) {
		if once.CompareAndSwap(false, true) { // B's, the first
			close(atCreate)
			<-goOn
		}
	})
	done := make(chan error, 1)
	go func() {
		_, err := b.Complete(ctx)
		done <- err
	}()
	<-atCreate
	lossy.failDeletes.Store(true)
	if _, err := up.Complete(ctx); err != nil { // A
		t.Fatal(err)
	}
	lossy.failDeletes.Store(false)
	if err := svc.Delete(ctx, up.ID()); err != nil {
		t.Fatal(err)
	}
	close(goOn)
	if err := <-done; !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Complete overtaken by a Complete and a Delete: %v, want fs.ErrNotExist", err)
	}
	if rec, err := meta.GetFile(ctx, up.ID()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the deleted file's record after the overtaken Complete: %+v %v; want none", rec, err)
	}
	assertNoObjects(t, st, "filestore/files/")
	if want := []string{"uploaded " + up.ID(), "deleted " + up.ID()}; !slices.Equal(ev.list(), want) {
		t.Fatalf("observers heard %q, want %q", ev.list(), want)
	}
}

// TestUploadLostAnswerS3Multipart: on S3 an Upload over the multipart
// threshold without UploadOptions.SHA256 learns its digest only at the
// end, and records it as a tag after CompleteMultipartUpload answers.
// When that answer is lost, the object is there without a digest; the
// retry meets it (IfNotExist) and must recognise its own content — read
// back — rather than fail and delete the object it stored.
func TestUploadLostAnswerS3Multipart(t *testing.T) {
	tr := &loseCompleteTransport{}
	st := s3StoreThrough(t, tr)
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "s3", Store: st}}})
	data := make([]byte, 6<<20) // over the 5 MiB multipart threshold
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	tr.lose.Store(1)
	rec, err := svc.Upload(ctx, bytes.NewReader(data), filestore.UploadOptions{Name: "big.bin"})
	if err != nil {
		t.Fatalf("Upload whose first CompleteMultipartUpload answer was lost: %v (the object landed; the retry should find it)", err)
	}
	id := rec.ID
	sum := sha256.Sum256(data)
	if got := download(t, svc, id); !bytes.Equal(got, data) || rec.Size != int64(len(data)) || !bytes.Equal(rec.SHA256, sum[:]) {
		t.Fatalf("downloaded %d bytes, record %+v", len(got), rec)
	}
	if tr.lose.Load() >= 0 {
		t.Fatal("no CompleteMultipartUpload answer was lost")
	}
}

// TestCompleteUndoneByCleanupLeavesNothing: a Complete that outlived
// StaleAfter between creating the file's record and assembling its object
// finds that Cleanup undid the record meanwhile (the object landing after
// that): it fails with ErrConflict, the upload left for a retry. When no
// retry comes and Cleanup aborts the idle upload, the object goes too:
// nothing is left, RemoveOrphans or not.
func TestCompleteUndoneByCleanupLeavesNothing(t *testing.T) {
	meta := &hookedMeta{MetadataStore: filestore.NewMemoryMetadata()}
	st := localStore(t)
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: st}}, Metadata: meta,
		StaleAfter: time.Hour})
	clk := withClock(svc)
	up, err := svc.StartUpload(ctx, filestore.UploadOptions{Name: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.WritePart(ctx, 1, strings.NewReader("part one")); err != nil {
		t.Fatal(err)
	}
	other, err := svc.ResumeUpload(ctx, up.ID())
	if err != nil {
		t.Fatal(err)
	}
	var once atomic.Bool
	meta.setAfterCreate(func(*filestore.FileRecord) {
		if !once.CompareAndSwap(false, true) {
			return
		}
		clk.advance(2 * time.Hour)
		// The client is still sending parts, so the upload is not idle;
		// the file's record, two hours old, is stale.
		if _, err := other.WritePart(ctx, 2, strings.NewReader(", two")); err != nil {
			t.Error(err)
		}
		if err := svc.Cleanup(ctx); err != nil {
			t.Error(err)
		}
	})
	if _, err := up.Complete(ctx); !errors.Is(err, filestore.ErrConflict) {
		t.Fatalf("Complete whose record Cleanup undid: %v, want ErrConflict", err)
	}
	if n := countObjects(t, st, "filestore/files/"); n != 1 {
		t.Fatalf("%d objects under files/ after the undone Complete, want its object (landed after Cleanup)", n)
	}
	clk.advance(2 * time.Hour) // no retry comes
	if err := svc.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	assertNoObjects(t, st, "")
}
