package localstore_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/localstore"
)

// list returns the names List gives under prefix.
func list(t *testing.T, s *filestore.Store, prefix string) []string {
	t.Helper()
	var names []string
	for info, err := range s.List(ctx, prefix) {
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		names = append(names, info.Name)
	}
	return names
}

// reopen opens the store on dir again, or returns why it cannot.
func reopen(t *testing.T, dir string) (*filestore.Store, error) {
	s, err := filestore.Open(ctx, (&url.URL{Scheme: "file", Path: dir}).String())
	if err == nil {
		t.Cleanup(func() { s.Close() })
	}
	return s, err
}

// TestReservedLinkRefusedAtOpen: the reserved directory, or its tmp or
// attrs, replaced by a symbolic link to an object directory (inside the
// root, so os.Root would follow it) makes New refuse the directory,
// saying which link — and the sweep of stale temporary files does not
// delete the objects there. A file in their place is refused likewise.
func TestReservedLinkRefusedAtOpen(t *testing.T) {
	for _, c := range []struct{ path, target string }{
		{".filestore", "photos"},
		{".filestore/tmp", "../photos"},
		{".filestore/attrs", "../photos"},
		{".filestore/tmp", ""}, // a regular file
	} {
		t.Run(c.path+"->"+c.target, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir, "")
			if _, err := s.Put(ctx, "photos/2019.jpg", bytes.NewReader([]byte("precious")), nil); err != nil {
				t.Fatal(err)
			}
			s.Close()
			old := time.Now().Add(-72 * time.Hour)
			photo := filepath.Join(dir, "photos", "2019.jpg")
			if err := os.Chtimes(photo, old, old); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, filepath.FromSlash(c.path))
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
			if c.target == "" {
				if err := os.WriteFile(p, []byte("not a directory"), 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				symlink(t, c.target, p)
			}
			_, err := reopen(t, dir)
			want := "a symbolic link"
			if c.target == "" {
				want = "a file of mode"
			}
			if err == nil || !strings.Contains(err.Error(), c.path+" is "+want) {
				t.Errorf("opening the store with %s -> %q: %v; want an error saying %s is %s", c.path, c.target, err, c.path, want)
			}
			if data, err := os.ReadFile(photo); err != nil || string(data) != "precious" {
				t.Errorf("photos/2019.jpg after opening the store: %q %v", data, err)
			}
		})
	}
}

// TestReservedLinkedWhileOpen: .filestore/tmp replaced by a link to an
// object directory while the store is open: a Put's temporary file (its
// partial content) never appears there — the reserved directory was
// opened as its own root at New, which refuses the link — and the Put
// fails saying why; once the link is gone, the directory is made again.
func TestReservedLinkedWhileOpen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, "")
	if _, err := s.Put(ctx, "pub/index.html", bytes.NewReader([]byte("<html>")), nil); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, ".filestore", "tmp")
	if err := os.RemoveAll(tmp); err != nil {
		t.Fatal(err)
	}
	symlink(t, filepath.Join("..", "pub"), tmp)
	var seen []string
	r := io.MultiReader(strings.NewReader("first half "), readerFunc(func([]byte) (int, error) {
		for _, n := range list(t, s, "pub/") {
			if n != "pub/index.html" {
				seen = append(seen, n)
			}
		}
		return 0, io.EOF
	}))
	_, err := s.Put(ctx, "secret/report.pdf", r, nil)
	if err == nil || !strings.Contains(err.Error(), ".filestore/tmp is a symbolic link") {
		t.Errorf("Put with .filestore/tmp -> ../pub: %v; want an error naming the link", err)
	}
	if len(seen) > 0 {
		t.Errorf("mid-Put, List showed a temporary file as an object: %v", seen)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "pub")); len(entries) != 1 {
		t.Errorf("pub/ holds %v, want index.html alone", entries)
	}
	if err := os.Remove(tmp); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "secret/report.pdf", strings.NewReader("report"), nil); err != nil {
		t.Fatalf("Put once the link is gone: %v", err)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestAttributesDirLinks: links planted in (or as) .filestore/attrs lead
// no attributes write or removal to an object: .filestore/attrs/a ->
// ../../a (the directory that mirrored the objects' "a" in an earlier
// layout) and .filestore/attrs -> ../a while the store is open. Put and
// Delete of "a/b" leave the object "a/b.json" alone.
func TestAttributesDirLinks(t *testing.T) {
	for _, c := range []struct{ link, target string }{
		{".filestore/attrs/a", "../../a"},
		{".filestore/attrs", "../a"},
	} {
		for _, q := range []string{"", "xattrs=false"} {
			t.Run(c.link+"/query="+q, func(t *testing.T) {
				dir := t.TempDir()
				s := open(t, dir, q)
				for _, n := range []string{"a/b", "a/b.json"} {
					if _, err := s.Put(ctx, n, bytes.NewReader([]byte("precious "+n)), nil); err != nil {
						t.Fatal(err)
					}
				}
				l := filepath.Join(dir, filepath.FromSlash(c.link))
				if err := os.RemoveAll(l); err != nil {
					t.Fatal(err)
				}
				symlink(t, c.target, l)
				// With the attributes file in use and attrs itself a
				// link, the Put cannot store them and fails, leaving
				// a/b as it was; otherwise it succeeds.
				_, err := s.Put(ctx, "a/b", bytes.NewReader([]byte("v2")), nil)
				if err != nil && (q == "" || c.link == ".filestore/attrs/a") {
					t.Fatalf("Put(a/b): %v", err)
				}
				want := "v2"
				if err != nil {
					want = "precious a/b"
				}
				if data, _ := os.ReadFile(filepath.Join(dir, "a", "b")); string(data) != want {
					t.Errorf("a/b after Put (error %v): %q, want %q", err, data, want)
				}
				if data, _ := os.ReadFile(filepath.Join(dir, "a", "b.json")); string(data) != "precious a/b.json" {
					t.Errorf("Put(a/b) removed or overwrote the object a/b.json: now %.60q", data)
				}
				if err := s.Delete(ctx, "a/b"); err != nil {
					t.Fatal(err)
				}
				if data, _ := os.ReadFile(filepath.Join(dir, "a", "b.json")); string(data) != "precious a/b.json" {
					t.Errorf("Delete(a/b) removed or changed the object a/b.json: now %.60q", data)
				}
			})
		}
	}
}

// TestLinkIntoReserved: a link planted in the tree that leads into the
// reserved directory (x -> .filestore, y -> .filestore/attrs) does not
// let names through it reach the store's own files: every call on such a
// name fails with fs.ErrPermission and changes nothing there.
func TestLinkIntoReserved(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, "")
	if _, err := s.Put(ctx, "ok", strings.NewReader("ok"), nil); err != nil {
		t.Fatal(err)
	}
	symlink(t, ".filestore", filepath.Join(dir, "x"))
	symlink(t, filepath.Join(".filestore", "attrs"), filepath.Join(dir, "y"))
	// A temporary file as a Put in flight has it.
	inFlight := filepath.Join(dir, ".filestore", "tmp", "put-INFLIGHT")
	if err := os.WriteFile(inFlight, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	denied := func(op, name string, err error) {
		t.Helper()
		if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "reserved directory") {
			t.Errorf("%s %q: %v; want fs.ErrPermission (a link into the reserved directory)", op, name, err)
		}
	}
	for _, n := range []string{"x/planted", "x/tmp/put-FORGED", "x/attrs/forged.json", "y/forged.json", "x/sub/planted", "y/sub/forged.json"} {
		_, err := s.Put(ctx, n, strings.NewReader("forged"), nil)
		denied("Put", n, err)
		_, err = s.Put(ctx, n, strings.NewReader("forged"), &filestore.PutOptions{IfNotExist: true})
		denied("Put IfNotExist", n, err)
		denied("Copy to", n, s.Copy(ctx, "ok", n))
		denied("Rename to", n, s.Rename(ctx, "ok", n))
	}
	n := "x/tmp/put-INFLIGHT"
	_, err := s.Stat(ctx, n)
	denied("Stat", n, err)
	_, err = s.Open(ctx, n)
	denied("Open", n, err)
	denied("Delete", n, s.Delete(ctx, n))
	denied("Copy from", n, s.Copy(ctx, n, "stolen"))
	denied("Rename from", n, s.Rename(ctx, n, "stolen"))
	if data, err := os.ReadFile(inFlight); err != nil || string(data) != "partial" {
		t.Errorf("the temporary file: %q %v", data, err)
	}
	if got := list(t, s, ""); !slices.Equal(got, []string{"ok"}) {
		t.Errorf("List = %q, want [ok]", got)
	}
	var forged []string
	_ = filepath.WalkDir(filepath.Join(dir, ".filestore"), func(p string, e fs.DirEntry, err error) error {
		if err == nil && (strings.Contains(strings.ToLower(e.Name()), "forged") || e.Name() == "planted" || e.Name() == "sub") {
			forged = append(forged, p)
		}
		return nil
	})
	if len(forged) > 0 {
		t.Errorf("written in the reserved directory: %v", forged)
	}
}

// TestStaleTempsSwept: New removes the store's temporary files (put-,
// copy-, attrs-) a day old or more, and nothing else in .filestore/tmp:
// not a younger one, not another program's file, not a directory.
func TestStaleTempsSwept(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, "").Close()
	tmp := filepath.Join(dir, ".filestore", "tmp")
	old := time.Now().Add(-72 * time.Hour)
	for _, n := range []string{"put-OLD", "copy-OLD", "attrs-OLD", "put-YOUNG", "notours-OLD", "put-DIR-OLD"} {
		p := filepath.Join(tmp, n)
		var err error
		if strings.Contains(n, "DIR") {
			err = os.Mkdir(p, 0o755)
		} else {
			err = os.WriteFile(p, []byte(n), 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(n, "OLD") {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := reopen(t, dir); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{"notours-OLD", "put-DIR-OLD", "put-YOUNG"}; !slices.Equal(left, want) {
		t.Errorf(".filestore/tmp after New: %q, want %q", left, want)
	}
}

// TestCheckNameFor: the reserved directory is refused in any case (a
// case-insensitive file system folds it), and on Windows so are "\" (a
// separator there), ":" (a drive or a data stream) and the trailing dots
// and spaces Windows drops from an element.
func TestCheckNameFor(t *testing.T) {
	for _, c := range []struct {
		name              string
		unixOK, windowsOK bool
	}{
		{"a/b.txt", true, true},
		{"x/.filestore/y", true, true},
		{".filestorex/y", true, true},
		{"a.b c", true, true},
		{".filestore", false, false},
		{".filestore/x", false, false},
		{".FILESTORE/tmp/x", false, false},
		{".FileStore", false, false},
		{`.filestore\attrs\x.json`, true, false},
		{`a\b`, true, false},
		{"a:b", true, false},
		{"c:/x", true, false},
		{".filestore./x", true, false},
		{".filestore /x", true, false},
		{".filestore. ./x", true, false},
	} {
		for _, windows := range []bool{false, true} {
			err := localstore.CheckNameFor(c.name, windows)
			ok := c.unixOK
			if windows {
				ok = c.windowsOK
			}
			if ok && err != nil || !ok && !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("checkName(%q, windows=%v) = %v, want %s", c.name, windows, err, map[bool]string{true: "nil", false: "fs.ErrInvalid"}[ok])
			}
		}
	}
	// The store applies the rule of its platform.
	s := open(t, t.TempDir(), "")
	if _, err := s.Put(ctx, ".FILESTORE/tmp/x", strings.NewReader("x"), nil); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Put(.FILESTORE/tmp/x): %v", err)
	}
}
