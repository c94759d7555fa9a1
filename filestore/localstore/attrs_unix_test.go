//go:build linux || darwin || freebsd || netbsd

package localstore_test

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/localstore"
)

// TestAttributesPlace: attributes ride in the file's extended attribute
// (no attributes file), or with xattrs=false in .filestore/attrs; Stat
// finds them either way, and a rename carries them.
func TestAttributesPlace(t *testing.T) {
	for _, q := range []string{"", "xattrs=false"} {
		dir := t.TempDir()
		s := open(t, dir, q)
		data := []byte("attributes travel")
		if _, err := s.Put(ctx, "a/doc.txt", bytes.NewReader(data), &filestore.PutOptions{ContentType: "text/x-doc"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Rename(ctx, "a/doc.txt", "b/doc.txt"); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		st, err := s.Stat(ctx, "b/doc.txt")
		if err != nil || !bytes.Equal(st.SHA256, sum[:]) || st.ContentType != "text/x-doc" {
			t.Fatalf("%q: Stat after rename: %+v %v", q, st, err)
		}
		_, xerr := unix.Getxattr(filepath.Join(dir, "b", "doc.txt"), "user.groundwork.filestore", make([]byte, 4096))
		_, ferr := os.Stat(filepath.Join(dir, localstore.AttrsFile("b/doc.txt")))
		if q == "" && (xerr != nil || ferr == nil) {
			t.Fatalf("default: xattr %v, attributes file %v; want the xattr alone", xerr, ferr)
		}
		if q != "" && (xerr == nil || ferr != nil) {
			t.Fatalf("xattrs=false: xattr %v, attributes file %v; want the file alone", xerr, ferr)
		}
	}
}
