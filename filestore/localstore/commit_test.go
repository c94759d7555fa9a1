package localstore_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/localstore"
)

// onceHook sets a test hook that runs f the first time op comes (for
// name, unless name is "").
func onceHook(t *testing.T, op, name string, f func()) *bool {
	ran := false
	localstore.SetTestHook(t, func(o, n string) {
		if o == op && (name == "" || n == name) && !ran {
			ran = true
			f()
		}
	})
	return &ran
}

// TestPutAttributesFileMeanwhile: with the attributes file in use, what
// happens to .filestore/attrs during a Put — a Delete of a sibling, or
// another program removing the directory, just before the attributes
// file is renamed into place — does not fail the Put, and its attributes
// are stored.
func TestPutAttributesFileMeanwhile(t *testing.T) {
	for _, c := range []struct {
		what string
		do   func(s *filestore.Store, dir string) error
	}{
		{"a Delete of a sibling", func(s *filestore.Store, _ string) error { return s.Delete(ctx, "a/c") }},
		{"another program removing .filestore/attrs", func(_ *filestore.Store, dir string) error {
			return os.RemoveAll(filepath.Join(dir, ".filestore", "attrs"))
		}},
	} {
		t.Run(c.what, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, "xattrs=false")
			if _, err := s.Put(ctx, "a/c", strings.NewReader("c"), nil); err != nil {
				t.Fatal(err)
			}
			ran := onceHook(t, "attrs", "", func() {
				if err := c.do(s, dir); err != nil {
					t.Error(err)
				}
			})
			data := []byte("b")
			if _, err := s.Put(ctx, "a/b", bytes.NewReader(data), &filestore.PutOptions{ContentType: "text/x-b"}); err != nil {
				t.Fatalf("Put(a/b) with %s meanwhile: %v", c.what, err)
			}
			if !*ran {
				t.Fatal("the Put stored no attributes file")
			}
			sum := sha256.Sum256(data)
			if st, err := s.Stat(ctx, "a/b"); err != nil || !bytes.Equal(st.SHA256, sum[:]) || st.ContentType != "text/x-b" {
				t.Errorf("Stat(a/b): %+v %v; want its attributes", st, err)
			}
		})
	}
}

// TestFailedPutLeavesName: a Put that fails leaves the name — content and
// attributes — as it was, and one that returns nil has replaced it,
// whatever breaks in the attributes directory: before the attributes are
// stored (the Put fails, not with fs.ErrNotExist: the name is there) or
// as the object is placed (too late to matter: they are stored before).
func TestFailedPutLeavesName(t *testing.T) {
	for _, step := range []string{"attrs", "place"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, "xattrs=false")
			if _, err := s.Put(ctx, "a/b", strings.NewReader("v1"), &filestore.PutOptions{ContentType: "text/x-v1"}); err != nil {
				t.Fatal(err)
			}
			// A file where the attributes directory was: nothing can be
			// stored there any more, nor the directory made again.
			attrs := filepath.Join(dir, ".filestore", "attrs")
			onceHook(t, step, "", func() {
				if err := os.RemoveAll(attrs); err != nil {
					t.Error(err)
				}
				if err := os.WriteFile(attrs, nil, 0o644); err != nil {
					t.Error(err)
				}
			})
			_, err := s.Put(ctx, "a/b", strings.NewReader("v2"), &filestore.PutOptions{ContentType: "text/x-v2"})
			got, _ := os.ReadFile(filepath.Join(dir, "a", "b"))
			switch {
			case err != nil && string(got) != "v1":
				t.Errorf("Put failed (%v), yet a/b holds %q", err, got)
			case err == nil && string(got) != "v2":
				t.Errorf("Put returned nil, yet a/b holds %q", got)
			case step == "attrs" && err == nil:
				t.Errorf("Put returned nil though its attributes could not be stored")
			case errors.Is(err, fs.ErrNotExist):
				t.Errorf("Put of an existing name failed with fs.ErrNotExist: %v", err)
			}
		})
	}
}

// TestFailedPutKeepsAttributes: an IfNotExist Put that finds the name
// taken leaves the object's attributes (in the attributes file, written
// before the placement) as they were.
func TestFailedPutKeepsAttributes(t *testing.T) {
	s := open(t, t.TempDir(), "xattrs=false")
	if _, err := s.Put(ctx, "doc", strings.NewReader("v1"), &filestore.PutOptions{ContentType: "text/x-v1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "doc", strings.NewReader("v2"), &filestore.PutOptions{ContentType: "text/x-v2", IfNotExist: true}); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("IfNotExist Put over doc: %v", err)
	}
	sum := sha256.Sum256([]byte("v1"))
	if st, err := s.Stat(ctx, "doc"); err != nil || st.ContentType != "text/x-v1" || !bytes.Equal(st.SHA256, sum[:]) {
		t.Errorf("Stat(doc) after the failed Put: %+v %v; want v1's attributes", st, err)
	}
}

// TestAttributesTooLarge: attributes that exceed what localstore stores
// are refused before any content is written.
func TestAttributesTooLarge(t *testing.T) {
	s := open(t, t.TempDir(), "")
	meta := map[string]string{"big": strings.Repeat("x", 70<<10)}
	if _, err := s.Put(ctx, "doc", strings.NewReader("x"), &filestore.PutOptions{Metadata: meta}); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("Put with 70 KiB of metadata: %v; want fs.ErrInvalid", err)
	}
	if _, err := s.Stat(ctx, "doc"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("doc after the refused Put: %v", err)
	}
}

// TestDirectoriesFsynced: a Put fsyncs the directory of every directory
// it made (up to the first that existed) as well as the one the object
// lands in, and the attributes directory when it wrote there; a Rename
// fsyncs the directory it took the file from too. (A crash cannot be
// staged here; the fsyncs are what makes the entries survive one.)
func TestDirectoriesFsynced(t *testing.T) {
	for _, q := range []string{"", "xattrs=false", "fsync=false"} {
		t.Run("query="+q, func(t *testing.T) {
			s := open(t, t.TempDir(), q)
			var mu sync.Mutex
			var synced []string
			localstore.SetTestHook(t, func(op, name string) {
				if op == "fsync" {
					mu.Lock()
					synced = append(synced, name)
					mu.Unlock()
				}
			})
			check := func(what string, want []string) {
				t.Helper()
				mu.Lock()
				defer mu.Unlock()
				if q == "fsync=false" {
					want = nil
				} else if q == "xattrs=false" {
					want = append(want, ".filestore/attrs")
				}
				for _, w := range want {
					if !slices.Contains(synced, w) {
						t.Errorf("%s fsynced %q, want %q among them", what, synced, want)
						break
					}
				}
				if want == nil && len(synced) > 0 {
					t.Errorf("%s with fsync=false fsynced %q", what, synced)
				}
				synced = nil
			}
			if _, err := s.Put(ctx, "n1/n2/obj", strings.NewReader("x"), nil); err != nil {
				t.Fatal(err)
			}
			check("Put(n1/n2/obj) in an empty store", []string{".", "n1", "n1/n2"})
			if err := s.Rename(ctx, "n1/n2/obj", "m/obj"); err != nil {
				t.Fatal(err)
			}
			check("Rename(n1/n2/obj, m/obj)", []string{".", "m", "n1/n2"})
		})
	}
}
