package filestore_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/driver"
	"github.com/groundwork-go/groundwork/filestore/memstore"
	"github.com/groundwork-go/groundwork/filestore/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// plainBucket hides everything optional a backend may have — native
// seeking, ReadAt, rename — so that the portable layer's fallbacks (range
// reads, copy-then-delete) pass the conformance suite too.
type plainBucket struct{ driver.Bucket }

type plainReader struct{ r driver.Reader }

func (p plainReader) Read(b []byte) (int, error)     { return p.r.Read(b) }
func (p plainReader) Close() error                   { return p.r.Close() }
func (p plainReader) Attributes() *driver.Attributes { return p.r.Attributes() }

func (p plainBucket) NewRangeReader(ctx context.Context, name string, off, n int64) (driver.Reader, error) {
	r, err := p.Bucket.NewRangeReader(ctx, name, off, n)
	if err != nil {
		return nil, err
	}
	return plainReader{r}, nil
}

func TestConformanceOfFallbacks(t *testing.T) {
	storetest.RunConformanceTests(t, storetest.Harness{
		NewStore: func(t *testing.T, opts ...filestore.Option) *filestore.Store {
			s, err := filestore.NewStore(plainBucket{memstore.New()}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		FileAndDirSameName: true,
	})
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	_, err := filestore.Open(ctx, "nosuch://x")
	if !errors.Is(err, filestore.ErrBadURL) || !strings.Contains(err.Error(), "mem") || !strings.Contains(err.Error(), "forgotten import") {
		t.Fatalf("unknown scheme: %v", err)
	}
	if _, err := filestore.Open(ctx, "no-scheme"); !errors.Is(err, filestore.ErrBadURL) {
		t.Fatalf("no scheme: %v", err)
	}
	if _, err := filestore.Open(ctx, "mem://", filestore.WithPageSize(0)); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("bad option: %v", err)
	}
	if _, err := filestore.NewStore(nil); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("nil bucket: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering mem twice did not panic")
		}
	}()
	filestore.Register(memstore.Scheme, plainBucketDriver{})
}

type plainBucketDriver struct{}

func (plainBucketDriver) Open(context.Context, *url.URL) (driver.Bucket, error) { return nil, nil }

func TestValidName(t *testing.T) {
	for _, ok := range []string{"a", "a/b", "a b/c.txt", "é/ü", ".hidden", "a/.b", "..a", "a..b"} {
		if err := filestore.ValidName(ok); err != nil {
			t.Errorf("ValidName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "/a", "a/", "a//b", "a/./b", "a/../b", "a\x00", "\xff/../x"} {
		if err := filestore.ValidName(bad); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("ValidName(%q): %v", bad, err)
		}
	}
}

// FuzzValidName: a name ValidName accepts is one io/fs accepts, has no
// NUL and cannot climb out of a directory.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "a\x00b", "./a", "a/", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if filestore.ValidName(name) != nil {
			return
		}
		if !fs.ValidPath(name) || name == "." || strings.ContainsRune(name, 0) || strings.HasPrefix(name, "/") {
			t.Fatalf("accepted %q", name)
		}
		for _, el := range strings.Split(name, "/") {
			if el == ".." || el == "." || el == "" {
				t.Fatalf("accepted %q with element %q", name, el)
			}
		}
	})
}

// FuzzUploadOptions: options the Service accepts are UTF-8 without NUL
// in every text field, survive the JSON an upload record is stored as
// (pgmeta) unchanged, and pass UploadRecord.Validate, which every
// MetadataStore applies.
func FuzzUploadOptions(f *testing.F) {
	f.Add("scan.pdf", "application/pdf", "ada", "k", "v")
	f.Add("caf\xe9.txt", "", "", "", "")
	f.Add("a", "text/plain\x00", "b\x00", "K", "\xff")
	f.Add("", "", "", "filestore-x", "")
	f.Fuzz(func(t *testing.T, name, contentType, owner, key, value string) {
		o := filestore.UploadOptions{Name: name, ContentType: contentType, Owner: owner}
		if key != "" {
			o.Metadata = map[string]string{key: value}
		}
		if filestore.CheckUploadOptions(o) != nil {
			return
		}
		for _, s := range []string{name, contentType, owner, key, value} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Fatalf("accepted %+v: %q is not UTF-8 or holds NUL", o, s)
			}
		}
		data, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		var back filestore.UploadOptions
		if err := json.Unmarshal(data, &back); err != nil || back.Name != o.Name || back.ContentType != o.ContentType ||
			back.Owner != o.Owner || !maps.Equal(back.Metadata, o.Metadata) {
			t.Fatalf("accepted %+v, which JSON turns into %+v (%v)", o, back, err)
		}
		rec := filestore.UploadRecord{ID: "u", Options: o}
		if err := rec.Validate(); err != nil {
			t.Fatalf("accepted %+v, which a metadata store refuses: %v", o, err)
		}
	})
}
