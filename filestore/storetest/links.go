package storetest

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/filestore"
)

// testLinks plants symbolic links in the store's directory, as any
// program that can write the tree could — to a directory and a file
// outside the store, absolute and relative ("..", from the root and from
// a subdirectory), to the directory beside the store's (for NFS, inside
// the same export), dangling out, back to the root, and two links in a
// cycle — then checks that no call reads, writes, renames or deletes
// anything outside the store through them, and that List neither lists
// them nor loops.
func testLinks(t *testing.T, h Harness) {
	s, dir := h.NewStoreOnDisk(t)
	outside := t.TempDir() // elsewhere on this machine
	beside := dir + ".beside"
	besideBase := filepath.Base(beside)
	if err := os.Mkdir(beside, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(beside) })
	parent := filepath.Dir(dir)
	for p, data := range map[string]string{
		filepath.Join(outside, "secret"):        "outside secret",
		filepath.Join(outside, "sub", "secret"): "outside sub secret",
		filepath.Join(beside, "secret"):         "secret beside the store",
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, outside, beside)

	put(t, s, "ok", []byte("ok"), nil)
	put(t, s, "deep/er/obj", []byte("obj"), nil)
	links := map[string]string{
		"abs":        outside,
		"absfile":    filepath.Join(outside, "secret"),
		"absmissing": filepath.Join(outside, "made"),
		"up":         "..",
		"rel":        "../" + besideBase,
		"relfile":    "../" + besideBase + "/secret",
		"deep/er/up": "../../..",
		"loop":       ".",
		"dangling":   "nowhere",
		"cycle1":     "cycle2",
		"cycle2":     "cycle1",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			t.Fatalf("making the link %s -> %s: %v", name, target, err)
		}
	}

	// Names that lead, through a link, to a file outside the store (or
	// round a cycle of links).
	reads := []string{"abs/secret", "abs/sub/secret", "absfile", "up/" + besideBase + "/secret",
		"rel/secret", "relfile", "deep/er/up/" + besideBase + "/secret", "cycle1", "cycle1/x"}
	for _, n := range reads {
		_, err := s.Stat(ctx, n)
		checkRefused(t, "Stat", n, err)
		_, err = s.Open(ctx, n)
		checkRefused(t, "Open", n, err)
		_, err = s.OpenRange(ctx, n, 0, 3)
		checkRefused(t, "OpenRange", n, err)
		_, err = fs.ReadFile(s.FS(), n)
		checkRefused(t, "fs.ReadFile", n, err)
		checkRefused(t, "Copy from", n, s.Copy(ctx, n, "stolen"))
		checkRefused(t, "Rename from", n, s.Rename(ctx, n, "stolen"))
		checkRefused(t, "Delete", n, s.Delete(ctx, n))
	}
	if _, err := s.Stat(ctx, "stolen"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file from outside the store became the object \"stolen\": %v", err)
	}

	// Names that lead, through a link, to a place outside the store.
	writes := []string{"abs/planted", "abs/sub/planted", "absmissing/planted", "up/planted", "up/" + besideBase + "/planted",
		"rel/planted", "deep/er/up/planted", "deep/er/up/" + besideBase + "/planted", "cycle1/planted"}
	for _, n := range writes {
		if _, err := s.Put(ctx, n, bytes.NewReader([]byte("planted")), nil); err == nil {
			t.Errorf("Put %q (through a link out of the store) succeeded", n)
		}
		if _, err := s.Put(ctx, n, bytes.NewReader([]byte("planted")), &filestore.PutOptions{IfNotExist: true}); err == nil {
			t.Errorf("Put %q with IfNotExist (through a link out of the store) succeeded", n)
		}
		if err := s.Copy(ctx, "ok", n); err == nil {
			t.Errorf("Copy to %q (through a link out of the store) succeeded", n)
		}
		if err := s.Rename(ctx, "ok", n); err == nil {
			t.Errorf("Rename to %q (through a link out of the store) succeeded", n)
		}
	}
	if got := readAll(t, s, "ok"); string(got) != "ok" {
		t.Fatalf("\"ok\" after renames out of the store were refused: %q", got)
	}

	// The listing holds the objects only: no link, nothing through one,
	// and it ends although "loop" leads back to the root.
	for _, prefix := range []string{"", "abs", "abs/", "loop/", "up/", "rel/", "deep/"} {
		var got []string
		for info, err := range s.List(ctx, prefix) {
			if err != nil {
				t.Fatalf("List(%q): %v", prefix, err)
			}
			got = append(got, info.Name)
		}
		want := slices.DeleteFunc([]string{"deep/er/obj", "ok"}, func(n string) bool { return !strings.HasPrefix(n, prefix) })
		if !slices.Equal(got, want) {
			t.Errorf("List(%q) = %q, want %q", prefix, got, want)
		}
	}
	entries, err := fs.ReadDir(s.FS(), ".")
	if err != nil {
		t.Fatal(err)
	}
	var top []string
	for _, e := range entries {
		top = append(top, e.Name())
	}
	if want := []string{"deep", "ok"}; !slices.Equal(top, want) {
		t.Errorf("fs.ReadDir(.) = %q, want %q", top, want)
	}

	// A link at the name itself: an exclusive create finds the name taken;
	// a Put may replace the link (it never writes through it).
	for _, n := range []string{"absfile", "relfile"} {
		if _, err := s.Put(ctx, n, bytes.NewReader([]byte("mine")), &filestore.PutOptions{IfNotExist: true}); err == nil {
			t.Errorf("Put %q with IfNotExist over a link succeeded", n)
		}
		if _, err := s.Put(ctx, n, bytes.NewReader([]byte("mine")), nil); err == nil {
			if got := readAll(t, s, n); string(got) != "mine" {
				t.Errorf("%q after a Put over the link: %q", n, got)
			}
		}
	}

	if after := snapshot(t, outside, beside); !maps.EqualFunc(before, after, fileState.equal) {
		t.Errorf("outside the store, files changed:\nbefore %v\nafter  %v", before, after)
	}
	for _, d := range []string{outside, beside, parent} {
		for _, n := range []string{"planted", "made", "stolen", "ok"} {
			if _, err := os.Lstat(filepath.Join(d, n)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s appeared outside the store (%v)", filepath.Join(d, n), err)
			}
		}
	}
}

// checkRefused: a call through a link out of the store must fail as a
// name that is not there, or that may not be used — not with some other
// error that a retry could get past.
func checkRefused(t *testing.T, op, name string, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s %q (through a link out of the store) succeeded", op, name)
	case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission) && !errors.Is(err, fs.ErrInvalid):
		t.Errorf("%s %q (through a link out of the store): %v, want fs.ErrNotExist, fs.ErrPermission or fs.ErrInvalid", op, name, err)
	}
}

// fileState is what the suite checks of a file outside the store.
type fileState struct {
	data    string
	modTime time.Time
}

// snapshot records every file under the directories.
func snapshot(t *testing.T, dirs ...string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			out[p] = fileState{string(data), info.ModTime()}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func (a fileState) equal(b fileState) bool { return a.data == b.data && a.modTime.Equal(b.modTime) }
