package localstore_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/driver"
	"github.com/groundwork-go/groundwork/filestore/localstore"
)

// outsideDir returns a directory beside the store's (a sibling of dir)
// holding the file "secret".
func outsideDir(t *testing.T) string {
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "secret"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// checkEscaped: the error of a call through a link out of the root is
// fs.ErrPermission and says which name and why.
func checkEscaped(t *testing.T, op, name string, err error) {
	t.Helper()
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), `"`+name+`"`) || !strings.Contains(err.Error(), "leads out of the store's directory") {
		t.Errorf("%s %q through a link out of the root: %v; want fs.ErrPermission naming it and the link", op, name, err)
	}
}

// checkSecret: the file outside is still there, unchanged.
func checkSecret(t *testing.T, out string) {
	t.Helper()
	if data, err := os.ReadFile(filepath.Join(out, "secret")); err != nil || string(data) != "outside" {
		t.Fatalf("the file outside the root: %q %v", data, err)
	}
}

// TestLinksOut: links out of the root — absolute, relative through "..",
// to a directory or a file — refuse every call with fs.ErrPermission, and
// nothing outside is read, written or deleted.
func TestLinksOut(t *testing.T) {
	dir, out := t.TempDir(), outsideDir(t)
	s := open(t, dir, "")
	symlink(t, out, filepath.Join(dir, "abs"))
	symlink(t, filepath.Join("..", filepath.Base(out)), filepath.Join(dir, "rel"))
	symlink(t, filepath.Join(out, "secret"), filepath.Join(dir, "file"))
	for _, n := range []string{"abs/secret", "rel/secret", "file"} {
		_, err := s.Stat(ctx, n)
		checkEscaped(t, "Stat", n, err)
		_, err = s.Open(ctx, n)
		checkEscaped(t, "Open", n, err)
		checkEscaped(t, "Delete", n, s.Delete(ctx, n))
	}
	for _, n := range []string{"abs/planted", "rel/planted", "abs/new/planted"} {
		_, err := s.Put(ctx, n, bytes.NewReader([]byte("x")), nil)
		checkEscaped(t, "Put", n, err)
	}
	checkSecret(t, out)
	if entries, _ := os.ReadDir(out); len(entries) != 1 {
		t.Fatalf("outside the root now: %v", entries)
	}
}

// TestLinksInside: a relative link that stays inside the root is
// followed, as os.Root follows it: its target is read, written under and
// listed (a link to a file, not one to a directory); Delete and Put at
// the link's own name act on the link, never on its target. An absolute
// link is refused even when it points inside.
func TestLinksInside(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, "")
	if _, err := s.Put(ctx, "real/obj", bytes.NewReader([]byte("target")), &filestore.PutOptions{ContentType: "text/x-target"}); err != nil {
		t.Fatal(err)
	}
	symlink(t, "real", filepath.Join(dir, "alias"))
	symlink(t, filepath.Join("..", "real", "obj"), filepath.Join(dir, "real", "objlink"))
	symlink(t, filepath.Join(dir, "real", "obj"), filepath.Join(dir, "absin"))
	if got, err := io.ReadAll(must(s.Open(ctx, "alias/obj"))); err != nil || string(got) != "target" {
		t.Fatalf("read through the directory link: %q %v", got, err)
	}
	if st, err := s.Stat(ctx, "real/objlink"); err != nil || st.ContentType != "text/x-target" || st.SHA256 == nil {
		t.Fatalf("Stat of the file link, with its target's attributes: %+v %v", st, err)
	}
	if _, err := s.Put(ctx, "alias/new", bytes.NewReader([]byte("new")), nil); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "real", "new")); err != nil || string(data) != "new" {
		t.Fatalf("Put under the directory link: %q %v", data, err)
	}
	_, err := s.Stat(ctx, "absin")
	checkEscaped(t, "Stat", "absin", err)
	var names []string
	for info, err := range s.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, info.Name)
	}
	if want := []string{"real/new", "real/obj", "real/objlink"}; !slices.Equal(names, want) {
		t.Fatalf("List = %q, want %q", names, want)
	}
	if err := s.Delete(ctx, "real/objlink"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "real", "objlink")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the link after Delete: %v", err)
	}
	if _, err := s.Put(ctx, "alias", bytes.NewReader([]byte("over the link")), nil); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"real/obj": "target", "real/new": "new", "alias": "over the link"} {
		if data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name))); err != nil || string(data) != want {
			t.Fatalf("%s on disk: %q %v, want %q", name, data, err, want)
		}
	}
}

// TestDriverNames: names that reach the backend without the portable
// layer's checks ("..", absolute) still cannot leave the root.
func TestDriverNames(t *testing.T) {
	dir, out := t.TempDir(), outsideDir(t)
	b, err := localstore.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	up := "../" + filepath.Base(out) + "/secret"
	for _, n := range []string{up, filepath.ToSlash(filepath.Join(out, "secret"))} {
		if _, err := b.NewRangeReader(ctx, n, 0, -1); err == nil {
			t.Errorf("read %q", n)
		}
		if err := b.Delete(ctx, n); err == nil {
			t.Errorf("deleted %q", n)
		}
		w, err := b.NewWriter(ctx, n, &driver.WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte("planted"))
		if err := w.Commit(nil); err == nil {
			t.Errorf("wrote %q", n)
		}
		_ = w.Abort()
	}
	checkSecret(t, out)
}

// TestLinkSwappedIn: a directory replaced by a link out of the root
// between a call's check and its action — after Delete found the object,
// after Put made the directories — does not lead the action outside: each
// step resolves the name anew through the root.
func TestLinkSwappedIn(t *testing.T) {
	dir, out := t.TempDir(), outsideDir(t)
	s := open(t, dir, "")
	if _, err := s.Put(ctx, "d/secret", bytes.NewReader([]byte("inside")), nil); err != nil {
		t.Fatal(err)
	}
	swap := func(sub string) {
		if err := os.Rename(filepath.Join(dir, sub), filepath.Join(dir, sub+".moved")); err != nil {
			t.Fatal(err)
		}
		symlink(t, out, filepath.Join(dir, sub))
	}
	localstore.SetTestHook(t, func(op, name string) {
		if op == "delete" && name == "d/secret" || op == "place" && name == "p/planted" {
			swap(strings.Split(name, "/")[0])
		}
	})
	checkEscaped(t, "Delete", "d/secret", s.Delete(ctx, "d/secret"))
	_, err := s.Put(ctx, "p/planted", bytes.NewReader([]byte("planted")), nil)
	checkEscaped(t, "Put", "p/planted", err)
	checkSecret(t, out)
	if _, err := os.Stat(filepath.Join(out, "planted")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Put wrote outside the root: %v", err)
	}
}

// TestRenameOntoHardLink: Rename of a name onto another hard link of the
// same file (rename(2) would do nothing, and succeed) fails with
// fs.ErrExist and changes nothing: Delete is the call that removes from.
func TestRenameOntoHardLink(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, "")
	if _, err := s.Put(ctx, "from", bytes.NewReader([]byte("x")), nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "from"), filepath.Join(dir, "to")); err != nil {
		t.Fatal(err)
	}
	if err := s.Rename(ctx, "from", "to"); !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "hard link") {
		t.Errorf("Rename(from, to) onto a hard link of from: %v; want fs.ErrExist saying why", err)
	}
	for _, n := range []string{"from", "to"} {
		if got, err := io.ReadAll(must(s.Open(ctx, n))); err != nil || string(got) != "x" {
			t.Errorf("%s after the refused Rename: %q %v", n, got, err)
		}
	}
	// A file with one link is renamed as always.
	if err := s.Delete(ctx, "to"); err != nil {
		t.Fatal(err)
	}
	if err := s.Rename(ctx, "from", "to"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "from"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("from after Rename: %v", err)
	}
}
