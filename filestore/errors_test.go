package filestore_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/groundwork-go/groundwork/filestore"
	_ "github.com/groundwork-go/groundwork/filestore/memstore"
	_ "github.com/groundwork-go/groundwork/filestore/nfsstore"
)

// checkOnePrefix fails t unless err's message names the package once, at
// its start.
func checkOnePrefix(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); !strings.HasPrefix(msg, "filestore: ") || strings.Count(msg, "filestore: ") != 1 {
		t.Errorf("error %q: want one %q, at the start", msg, "filestore: ")
	}
}

// TestErrorMessages: the common mistakes get one message each that names
// the package once, the operation once and what is wrong, and matches
// its sentinel.
func TestErrorMessages(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	mem, err := filestore.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	if _, err := mem.Put(ctx, "taken", strings.NewReader("x"), nil); err != nil {
		t.Fatal(err)
	}
	closed, _ := filestore.Open(ctx, "mem://")
	closed.Close()
	svc := newService(t, filestore.ServiceOptions{Backends: []filestore.Backend{{Name: "local", Store: localStore(t)}}})
	const id = "0123456789abcdef0123456789abcdef"
	open := func(u string) error { _, err := filestore.Open(ctx, u); return err }

	for _, c := range []struct {
		what string
		err  error
		want string
		is   error
	}{
		{"a missing directory", open("file://" + dir + "/missing"),
			"filestore: open file://" + dir + "/missing: directory " + dir + "/missing: file does not exist: create it, or add ?mkdir=true to the URL", fs.ErrNotExist},
		{"a file for a directory", open("file://" + file),
			"filestore: open file://" + file + ": directory " + file + ": invalid argument: it is not a directory", fs.ErrInvalid},
		{"a misspelt parameter", open("file://" + dir + "?mkdri=true"),
			"filestore: open file://" + dir + "?mkdri=true: bad URL: unknown parameter \"mkdri\" (known: mkdir, fsync, xattrs)", filestore.ErrBadURL},
		{"a host in a file URL", open("file://host/srv"),
			`filestore: open file://host/srv: bad URL: file URL with host "host": want file:///absolute/dir`, filestore.ErrBadURL},
		{"a misspelt S3 parameter", open("s3://bucket?regoin=eu"),
			`filestore: open s3://bucket?regoin=eu: bad URL: unknown parameter "regoin" (known: region, endpoint, path_style, profile, part_size, multipart_threshold, concurrency)`, filestore.ErrBadURL},
		{"an NFS URL without an export", open("nfs://server"),
			`filestore: open nfs://server: bad URL: nfs URL needs a host and an export path: nfs://host/export`, filestore.ErrBadURL},
		{"a path for a URL", open("/srv/files"),
			`filestore: bad URL: "/srv/files" has no scheme (want e.g. file:///dir, mem://, s3://bucket)`, filestore.ErrBadURL},
		{"an option out of range", open2(filestore.WithBufferSize(1)),
			"filestore: open mem:: invalid argument: WithBufferSize(1): want 4 KiB to 64 MiB", fs.ErrInvalid},
		{"an absolute name", put(mem, "/abs", "x", nil),
			`filestore: put: invalid argument: name "/abs" is not a slash-separated relative path (no leading, trailing or doubled /, no . or .. element)`, fs.ErrInvalid},
		{"a missing name", stat(mem, "missing"),
			`filestore: stat "missing" (mem): file does not exist`, fs.ErrNotExist},
		{"fewer bytes than announced", put(mem, "x", "ab", &filestore.PutOptions{Size: 3}),
			`filestore: put "x" (mem): content length differs from the announced size: got 2 bytes, announced 3`, filestore.ErrSizeMismatch},
		{"IfNotExist on an existing name", put(mem, "taken", "y", &filestore.PutOptions{IfNotExist: true}),
			`filestore: put "taken" (mem): file already exists`, fs.ErrExist},
		{"a bad metadata key", put(mem, "x", "y", &filestore.PutOptions{Metadata: map[string]string{"a b": "c"}}),
			`filestore: put "x" (mem): invalid argument: metadata key "a b": want letters, digits, '-' and '_'`, fs.ErrInvalid},
		{"a rename of a missing name", mem.Rename(ctx, "missing", "z"),
			`filestore: rename "missing" to "z" (mem): "missing": file does not exist`, fs.ErrNotExist},
		{"a closed store", stat(closed, "x"),
			"filestore: closed", filestore.ErrClosed},
		{"a Service without backends", newSvc(filestore.ServiceOptions{}),
			"filestore: NewService: invalid argument: ServiceOptions.Backends is empty", fs.ErrInvalid},
		{"an unknown file", svcStat(svc, id),
			`filestore: stat "` + id + `": file does not exist`, fs.ErrNotExist},
		{"a download of an unknown file", download2(svc, id),
			`filestore: download "` + id + `": file does not exist`, fs.ErrNotExist},
		{"a delete of an unknown file", svc.Delete(ctx, id),
			`filestore: delete "` + id + `": file does not exist`, fs.ErrNotExist},
		{"an upload without a name", upload(svc, "x", filestore.UploadOptions{}),
			"filestore: upload: invalid argument: UploadOptions.Name is empty", fs.ErrInvalid},
		{"an upload shorter than announced", upload(svc, "ab", filestore.UploadOptions{Name: "x", Size: 3}),
			`filestore: upload "x": backend "local": content length differs from the announced size: got 2 bytes, announced 3`, filestore.ErrSizeMismatch},
		{"a resume of an unknown upload", resume(svc, id),
			`filestore: resume upload "` + id + `": file does not exist (no upload has that ID: never started, aborted, or completed and its file deleted since)`, fs.ErrNotExist},
	} {
		if c.err == nil || c.err.Error() != c.want || !errors.Is(c.err, c.is) {
			t.Errorf("%s:\n got %v\nwant %s (matching %v)", c.what, c.err, c.want, c.is)
			continue
		}
		checkOnePrefix(t, c.err)
	}
}

func open2(opt filestore.Option) error { _, err := filestore.Open(ctx, "mem://", opt); return err }

func put(s *filestore.Store, name, data string, o *filestore.PutOptions) error {
	_, err := s.Put(ctx, name, strings.NewReader(data), o)
	return err
}

func stat(s *filestore.Store, name string) error { _, err := s.Stat(ctx, name); return err }

func newSvc(o filestore.ServiceOptions) error { _, err := filestore.NewService(o); return err }

func svcStat(svc *filestore.Service, id string) error { _, err := svc.Stat(ctx, id); return err }

func download2(svc *filestore.Service, id string) error {
	_, _, err := svc.Download(ctx, id)
	return err
}

func upload(svc *filestore.Service, data string, o filestore.UploadOptions) error {
	_, err := svc.Upload(ctx, bytes.NewReader([]byte(data)), o)
	return err
}

func resume(svc *filestore.Service, id string) error { _, err := svc.ResumeUpload(ctx, id); return err }
