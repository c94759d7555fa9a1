package filestore_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/resilience"
)

// TestBackendNamesChecked: NewService refuses, naming it, a backend
// without a name or store, a name or alias taken twice, and a policy
// that names a backend not configured (or an alias) or has a rule that
// can never match.
func TestBackendNamesChecked(t *testing.T) {
	a, b := localStore(t), localStore(t)
	two := []filestore.Backend{{Name: "fast", Store: a}, {Name: "bulk", Store: b, Aliases: []string{"s3"}}}
	for _, c := range []struct {
		name string
		o    filestore.ServiceOptions
		want string
	}{
		{"none", filestore.ServiceOptions{},
			"ServiceOptions.Backends is empty"},
		{"unnamed", filestore.ServiceOptions{Backends: []filestore.Backend{{Store: a}}},
			"ServiceOptions.Backends[0].Name is empty"},
		{"no store", filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "fast"}}},
			`ServiceOptions.Backends[0] ("fast") has no Store`},
		{"duplicate", filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "fast", Store: a}, {Name: "fast", Store: b}}},
			`ServiceOptions.Backends[1].Name: backend name "fast" is taken already (by the backend named "fast")`},
		{"alias taken", filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "fast", Store: a}, {Name: "bulk", Store: b, Aliases: []string{"fast"}}}},
			`ServiceOptions.Backends[1].Aliases[0]: backend name "fast" is taken already (by the backend named "fast")`},
		{"name not UTF-8", filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "\xff", Store: a}}},
			`ServiceOptions.Backends[0].Name "\xff" is not UTF-8`},
		{"unknown in a rule", filestore.ServiceOptions{Backends: two,
			Policy: filestore.Policy{Rules: []filestore.Rule{{MaxSize: 10, Backends: []string{"fast", "nfs"}}}}},
			`ServiceOptions.Policy.Rules[0].Backends names backend "nfs", which ServiceOptions.Backends does not have`},
		{"unknown otherwise", filestore.ServiceOptions{Backends: two, Policy: filestore.Policy{Otherwise: []string{"Bulk"}}},
			`ServiceOptions.Policy.Otherwise names backend "Bulk", which ServiceOptions.Backends does not have`},
		{"alias in policy", filestore.ServiceOptions{Backends: two, Policy: filestore.Policy{Otherwise: []string{"s3"}}},
			`ServiceOptions.Policy.Otherwise names backend "s3", an alias of "bulk": name "bulk"`},
		{"tier not configured", filestore.ServiceOptions{Backends: two, Policy: filestore.TieredPolicy(filestore.Tiers{Fast: "fast", Archive: "bulk", Durable: "hdfs"})},
			`ServiceOptions.Policy.Rules[0].Backends names backend "hdfs", which ServiceOptions.Backends does not have`},
		{"empty rule", filestore.ServiceOptions{Backends: two, Policy: filestore.Policy{Rules: []filestore.Rule{{MaxSize: 10}}}},
			"ServiceOptions.Policy.Rules[0] names no backend"},
		{"no size matches", filestore.ServiceOptions{Backends: two, Policy: filestore.Policy{Rules: []filestore.Rule{
			{MaxSize: 10, Backends: []string{"fast"}}, {MinSize: 10, MaxSize: 10, Backends: []string{"bulk"}}}}},
			"ServiceOptions.Policy.Rules[1] matches no size (MinSize 10, MaxSize 10)"},
		{"bad priority", filestore.ServiceOptions{Backends: two, Policy: filestore.Policy{Rules: []filestore.Rule{
			{Priorities: []filestore.Priority{"urgent"}, Backends: []string{"fast"}}}}},
			`ServiceOptions.Policy.Rules[0]: unknown priority "urgent"`},
	} {
		_, err := filestore.NewService(c.o)
		if !errors.Is(err, fs.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want fs.ErrInvalid saying %s", c.name, err, c.want)
			continue
		}
		checkOnePrefix(t, err)
	}
}

// TestBackendsByUserNames: the policy routes by the names the user gave;
// the record keeps that name; the zero Policy takes the backends in the
// order listed, failing over down the list.
func TestBackendsByUserNames(t *testing.T) {
	fast, bulk := localStore(t), localStore(t)
	svc := newService(t, filestore.ServiceOptions{
		Backends: []filestore.Backend{{Name: "fast-nfs", Store: fast}, {Name: "cold storage", Store: bulk}},
		Policy: filestore.Policy{
			Rules: []filestore.Rule{
				{MaxSize: 1000, Priorities: []filestore.Priority{filestore.PriorityLatency}, Backends: []string{"fast-nfs", "cold storage"}},
				{MinSize: 1000, Backends: []string{"cold storage"}},
			},
			Otherwise: []string{"cold storage", "fast-nfs"},
		},
	})
	for _, c := range []struct {
		o    filestore.UploadOptions
		want string
		on   *filestore.Store
	}{
		{filestore.UploadOptions{Name: "thumb", Priority: filestore.PriorityLatency}, "fast-nfs", fast},
		{filestore.UploadOptions{Name: "doc"}, "cold storage", bulk},
		{filestore.UploadOptions{Name: "big", Size: 1000, Priority: filestore.PriorityLatency}, "cold storage", bulk},
	} {
		data := bytes.Repeat([]byte("x"), max(int(c.o.Size), 1))
		c.o.Size = int64(len(data))
		rec, err := svc.Upload(ctx, bytes.NewReader(data), c.o)
		if err != nil || rec.Backend != c.want {
			t.Fatalf("%s: %+v %v; want backend %q", c.o.Name, rec, err, c.want)
		}
		if _, err := c.on.Stat(ctx, rec.Path); err != nil {
			t.Fatalf("%s: not on the store named %q: %v", c.o.Name, c.want, err)
		}
		if svc.Backend(c.want) != c.on {
			t.Fatalf("Backend(%q) is not the store configured under that name", c.want)
		}
	}

	// The zero Policy: the order listed; the first failing, the next.
	down := localStore(t)
	down.Close()
	inOrder := newService(t, filestore.ServiceOptions{
		Backends: []filestore.Backend{{Name: "first", Store: down}, {Name: "second", Store: bulk}},
		Retry:    resilience.RetryPolicy{MaxAttempts: 1},
	})
	rec, err := inOrder.Upload(ctx, strings.NewReader("x"), filestore.UploadOptions{Name: "x"})
	if err != nil || rec.Backend != "second" {
		t.Fatalf("upload with the first backend closed: %+v %v; want it on second", rec, err)
	}
}

// TestLegacyRecords: files and uploads recorded before backends were
// named by their users carry the fixed names (nfs, hdfs, s3, local).
// They resolve where a backend has that name, or lists it in its
// Aliases: download, delete, resume and complete, and Cleanup of a
// stale one; new records carry the backend's Name. Where neither, the
// error says how to configure it.
func TestLegacyRecords(t *testing.T) {
	data := []byte("written before backends had names of their users")
	sum := sha256.Sum256(data)
	// legacy writes a ready file and a pending one, and starts a
	// resumable upload, as the Service did with DefaultPolicy's "nfs".
	legacy := func(t *testing.T, st *filestore.Store, meta filestore.MetadataStore) (ready, pending, upload string) {
		ready, pending, upload = strings.Repeat("a", 32), strings.Repeat("b", 32), strings.Repeat("c", 32)
		for _, id := range []string{ready, pending} {
			path := "filestore/files/" + id[:2] + "/" + id
			if _, err := st.Put(ctx, path, bytes.NewReader(data), nil); err != nil {
				t.Fatal(err)
			}
			state := filestore.FileReady
			if id == pending {
				state = filestore.FilePending
			}
			if err := meta.CreateFile(ctx, &filestore.FileRecord{ID: id, Name: "old.txt", Size: int64(len(data)), SHA256: sum[:],
				Backend: "nfs", Path: path, Created: time.Now().Add(-48 * time.Hour), State: state}); err != nil {
				t.Fatal(err)
			}
		}
		if err := meta.PutUpload(ctx, &filestore.UploadRecord{ID: upload, Options: filestore.UploadOptions{Name: "old-upload.txt"},
			Backend: "nfs", Path: "filestore/files/" + upload[:2] + "/" + upload, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
		part := "filestore/uploads/" + upload + "/000001"
		info, err := st.Put(ctx, part, bytes.NewReader(data), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := meta.PutPart(ctx, upload, filestore.PartRecord{Number: 1, Size: info.Size, SHA256: info.SHA256, Stored: time.Now()}); err != nil {
			t.Fatal(err)
		}
		return ready, pending, upload
	}
	for _, c := range []struct {
		name    string
		backend filestore.Backend
	}{
		{"the old name kept", filestore.Backend{Name: "nfs"}},
		{"renamed, the old name an alias", filestore.Backend{Name: "fast", Aliases: []string{"nfs"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, meta := localStore(t), filestore.NewMemoryMetadata()
			ready, pending, upload := legacy(t, st, meta)
			c.backend.Store = st
			svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{c.backend}, Metadata: meta, StaleAfter: time.Hour})
			if got := download(t, svc, ready); !bytes.Equal(got, data) {
				t.Fatalf("download of a legacy file: %q", got)
			}
			up, err := svc.ResumeUpload(ctx, upload)
			if err != nil {
				t.Fatalf("resume a legacy upload: %v", err)
			}
			rec, err := up.Complete(ctx)
			if err != nil || rec.Backend != c.backend.Name {
				t.Fatalf("complete a legacy upload: %+v %v; want it recorded on %q", rec, err, c.backend.Name)
			}
			if got := download(t, svc, upload); !bytes.Equal(got, data) {
				t.Fatalf("download of a legacy upload completed: %q", got)
			}
			if err := svc.Cleanup(ctx); err != nil {
				t.Fatalf("Cleanup with a stale legacy record: %v", err)
			}
			if _, err := meta.GetFile(ctx, pending); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("the stale legacy record after Cleanup: %v", err)
			}
			if err := svc.Delete(ctx, ready); err != nil {
				t.Fatalf("delete a legacy file: %v", err)
			}
			assertNoObjects(t, st, "filestore/files/aa/")
		})
	}

	t.Run("not configured", func(t *testing.T) {
		st, meta := localStore(t), filestore.NewMemoryMetadata()
		ready, _, upload := legacy(t, st, meta)
		svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "fast", Store: st}}, Metadata: meta})
		want := `its backend "nfs" is not configured (configure a Backend of that Name, or list "nfs" in the Aliases of the one that holds its files)`
		_, _, err := svc.Download(ctx, ready)
		if err == nil || err.Error() != `filestore: download "`+ready+`": `+want {
			t.Fatalf("download from a backend not configured: %v", err)
		}
		if _, err := svc.ResumeUpload(ctx, upload); err == nil || err.Error() != `filestore: resume upload "`+upload+`": `+want {
			t.Fatalf("resume on a backend not configured: %v", err)
		}
	})
}

// TestPolicyKept: the Service keeps its own copy of the policy it
// checked; the caller changing its slices afterwards changes nothing.
func TestPolicyKept(t *testing.T) {
	st := localStore(t)
	policy := filestore.Policy{
		Rules:     []filestore.Rule{{MinSize: 10, Backends: []string{"only"}}},
		Otherwise: []string{"only"},
	}
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "only", Store: st}}, Policy: policy})
	policy.Otherwise[0], policy.Rules[0].Backends[0] = "gone", "gone"
	for _, data := range []string{"small", "larger than ten"} {
		rec, err := svc.Upload(ctx, strings.NewReader(data), filestore.UploadOptions{Name: "x"})
		if err != nil || rec.Backend != "only" {
			t.Fatalf("upload after the caller changed its policy: %+v %v", rec, err)
		}
	}
}
