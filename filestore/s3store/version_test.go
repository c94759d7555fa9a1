package s3store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/groundwork-go/groundwork/filestore"
)

// transport sits between the SDK and the gateway: it counts requests by
// kind and, while denyTagging is set, answers every tagging request (get
// or put) 403 AccessDenied, as a bucket policy denying s3:GetObjectTagging
// and s3:PutObjectTagging would. While size is above 0 it answers a GET
// whose range starts at or past size 416 InvalidRange, as a server would
// that looks at the range before If-Match, and counts those answers.
//
// afterCreate, if set, runs once a CreateMultipartUpload has taken effect
// on the gateway, before its answer is handed on; if the request's ctx
// has ended by then, the answer is lost as a cut connection loses it.
type transport struct {
	afterCreate atomic.Pointer[func()]
	denyTagging atomic.Bool
	size        atomic.Int64
	refused     atomic.Int32
	mu          sync.Mutex
	requests    []string // "GET", "GET tagging", "HEAD", ...
}

// errorResponse is an S3 error answer.
func errorResponse(req *http.Request, status int, code string) *http.Response {
	body := `<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>` + code + `</Message></Error>`
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/xml"}}, Body: io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: req}
}

// rangeFrom returns where a ranged GET starts, or -1.
func rangeFrom(req *http.Request) int64 {
	var from int64
	if req.Method != http.MethodGet {
		return -1
	}
	if _, err := fmt.Sscanf(req.Header.Get("Range"), "bytes=%d-", &from); err != nil {
		return -1
	}
	return from
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	kind := req.Method
	if req.URL.Query().Has("tagging") {
		kind += " tagging"
	}
	tr.mu.Lock()
	tr.requests = append(tr.requests, kind)
	tr.mu.Unlock()
	if strings.HasSuffix(kind, " tagging") && tr.denyTagging.Load() {
		return errorResponse(req, http.StatusForbidden, "AccessDenied"), nil
	}
	if size := tr.size.Load(); size > 0 && rangeFrom(req) >= size {
		tr.refused.Add(1)
		return errorResponse(req, http.StatusRequestedRangeNotSatisfiable, "InvalidRange"), nil
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if f := tr.afterCreate.Load(); f != nil && err == nil && req.Method == http.MethodPost && req.URL.Query().Has("uploads") {
		(*f)()
		if cerr := req.Context().Err(); cerr != nil {
			resp.Body.Close()
			return nil, cerr
		}
	}
	return resp, err
}

// since returns the requests made from index i on.
func (tr *transport) since(i int) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.requests[i:]...)
}

func (tr *transport) count() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.requests)
}

// TestTaggingBestEffort: with tagging denied, a multipart Put (whose
// digest is recorded as a tag after the upload) still succeeds — the new
// object is in place — and Stat and Open of it work, without a digest;
// an object tagged earlier is also read, its digest unknown.
func TestTaggingBestEffort(t *testing.T) {
	gw := gateway(t)
	ctx := context.Background()
	tr := &transport{}
	s := storeVia(t, gw, tr, "tagging/")
	data := random(t, 12<<20) // multipart: over the 5 MiB threshold
	tagged, err := s.Put(ctx, "tagged", bytes.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := s.Stat(ctx, "tagged"); err != nil || !bytes.Equal(st.SHA256, tagged.SHA256) {
		t.Fatalf("Stat with tagging allowed: %+v %v", st, err)
	}

	tr.denyTagging.Store(true)
	if _, err := s.Put(ctx, "old", strings.NewReader("the old version"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "old", bytes.NewReader(data), nil); err != nil {
		t.Errorf("multipart Put whose tagging is denied: %v (the object replaced the old one all the same)", err)
	}
	for _, name := range []string{"tagged", "old"} {
		st, err := s.Stat(ctx, name)
		if err != nil || st.Size != int64(len(data)) || st.SHA256 != nil {
			t.Fatalf("Stat %q with GetObjectTagging denied: %+v %v; want its size, no digest", name, st, err)
		}
		r, err := s.Open(ctx, name)
		if err != nil {
			t.Fatalf("Open %q with GetObjectTagging denied: %v", name, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read %q: %d bytes, %v", name, len(got), err)
		}
	}
}

// TestReadAtOneRequest: once open, each ReadAt of an object whose digest
// is a tag is one ranged GET — no HEAD, no tagging request.
func TestReadAtOneRequest(t *testing.T) {
	gw := gateway(t)
	ctx := context.Background()
	tr := &transport{}
	s := storeVia(t, gw, tr, "readat/")
	data := random(t, 12<<20)
	if _, err := s.Put(ctx, "big", bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Info().SHA256 == nil {
		t.Fatal("Open found no digest")
	}
	before := tr.count()
	p := make([]byte, 1000)
	for _, off := range []int64{0, 7 << 20, int64(len(data)) - 500} {
		n, err := r.ReadAt(p, off)
		want := data[off:min(off+1000, int64(len(data)))]
		if !bytes.Equal(p[:n], want) || (n == 1000) != (err == nil) {
			t.Fatalf("ReadAt(%d): %d bytes, %v", off, n, err)
		}
	}
	if got := tr.since(before); len(got) != 3 || got[0] != "GET" || got[1] != "GET" || got[2] != "GET" {
		t.Fatalf("three ReadAt calls made requests %q; want one GET each", got)
	}
}

// TestRereadPinned: a Reader re-reads (ReadAt, a Read after Seek) the
// version it opened; once the object is replaced, those fail with
// ErrReplaced rather than return the new content.
func TestRereadPinned(t *testing.T) {
	gw := gateway(t)
	ctx := context.Background()
	s, err := filestore.Open(ctx, gw.URL(bucket, "pinned/"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Put(ctx, "doc", strings.NewReader("version one"), nil); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(ctx, "doc")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := make([]byte, 3)
	if n, err := r.ReadAt(p, 8); err != nil || string(p[:n]) != "one" {
		t.Fatalf("ReadAt before the replacement: %q %v", p[:n], err)
	}
	if _, err := s.Put(ctx, "doc", strings.NewReader("VERSION TWO, longer"), nil); err != nil {
		t.Fatal(err)
	}
	if n, err := r.ReadAt(p, 8); !errors.Is(err, filestore.ErrReplaced) {
		t.Fatalf("ReadAt after the replacement: %q %v, want ErrReplaced", p[:n], err)
	}
	if _, err := r.Seek(5, io.SeekStart); err != nil { // away from the open stream's position: a re-read
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); !errors.Is(err, filestore.ErrReplaced) {
		t.Fatalf("Read after Seek and the replacement: %q %v, want ErrReplaced", got, err)
	}
}

// TestRereadOfShorterReplacement: the object is replaced by a shorter
// one, so that a re-read of the version opened asks for a range the name
// no longer has. Whatever the server answers first — 412 for If-Match or
// 416 for the range — the read fails with ErrReplaced: never an empty
// read that would pass for the end of the object.
func TestRereadOfShorterReplacement(t *testing.T) {
	gw := gateway(t)
	ctx := context.Background()
	tr := &transport{}
	s := storeVia(t, gw, tr, "shorter/")
	data := random(t, 1000)
	if _, err := s.Put(ctx, "doc", bytes.NewReader(data), nil); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(ctx, "doc")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := s.Put(ctx, "doc", strings.NewReader("short"), nil); err != nil {
		t.Fatal(err)
	}
	for _, rangeFirst := range []bool{false, true} {
		if rangeFirst {
			tr.size.Store(5)
		}
		p := make([]byte, 100)
		if n, err := r.ReadAt(p, 500); !errors.Is(err, filestore.ErrReplaced) {
			t.Fatalf("ReadAt past the new end (416 before 412: %v): %d bytes, %v; want ErrReplaced", rangeFirst, n, err)
		}
		if _, err := r.Seek(500, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if got, err := io.ReadAll(r); !errors.Is(err, filestore.ErrReplaced) {
			t.Fatalf("Read after Seek past the new end (416 before 412: %v): %d bytes, %v; want ErrReplaced", rangeFirst, len(got), err)
		}
	}
	if n := tr.refused.Load(); n != 2 {
		t.Fatalf("%d reads answered 416, want 2", n)
	}
}
