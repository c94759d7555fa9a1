package localstore

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// attrsFile is an object's attributes on disk, with the identity of the
// file they describe.
type attrsFile struct {
	Inode       uint64            `json:"inode"`
	Size        int64             `json:"size"`
	ModTimeNs   int64             `json:"mtime_ns"`
	SHA256      string            `json:"sha256,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

func (a *attrsFile) describes(info fs.FileInfo) bool {
	return a.Inode == inode(info) && a.Size == info.Size() && a.ModTimeNs == info.ModTime().UnixNano()
}

// xattrName is the extended attribute that holds an object's attributes
// where the file system has them: set on the temporary file before the
// rename, it arrives with the data, in one step.
const xattrName = "user.groundwork.filestore"

// attributes reads name's attributes for its open file f, which info
// describes: from f's extended attribute, else from the attributes file
// beside the tree.
func (b *bucket) attributes(name string, f *os.File, info fs.FileInfo) *driver.Attributes {
	out := &driver.Attributes{Size: info.Size(), ModTime: info.ModTime(), ContentType: mime.TypeByExtension(path.Ext(name))}
	data, err := getXattr(f)
	if err != nil {
		if data, err = b.root.ReadFile(attrsRel(name)); err != nil {
			return out
		}
	}
	var a attrsFile
	if json.Unmarshal(data, &a) != nil || !a.describes(info) {
		return out // not ours, or describing an older file
	}
	out.SHA256, _ = hex.DecodeString(a.SHA256)
	out.ContentType, out.Metadata = a.ContentType, a.Metadata
	return out
}

// encodeAttrs lays out the attributes of the file info describes.
func encodeAttrs(info fs.FileInfo, sum []byte, contentType string, meta map[string]string) ([]byte, error) {
	return json.Marshal(attrsFile{Inode: inode(info), Size: info.Size(), ModTimeNs: info.ModTime().UnixNano(),
		SHA256: hex.EncodeToString(sum), ContentType: contentType, Metadata: meta})
}

// setXattr stores data as the attributes of the open file f; false when
// the file system (or the value's size) does not allow it, and the
// attributes file must serve.
func (b *bucket) setXattr(f *os.File, data []byte) bool {
	if b.noXattrs.Load() {
		return false
	}
	err := setXattr(f, data)
	if errors.Is(err, errNoXattrs) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EPERM) {
		b.noXattrs.Store(true) // this file system has none: stop trying
	}
	return err == nil
}

// errNoXattrs: the platform has no extended attributes (xattr_other.go).
var errNoXattrs = errors.New("localstore: no extended attributes on this platform")

// writeAttrs stores data as the attributes file of name, replacing it
// atomically.
func (b *bucket) writeAttrs(name string, data []byte) error {
	f, tmp, err := b.createTemp("attrs-")
	if err != nil {
		return err
	}
	defer b.root.Remove(tmp) // gone once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := b.closeFile(f); err != nil {
		return err
	}
	dst := attrsRel(name)
	if err := b.root.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return b.mapErr(filepath.ToSlash(dst), err)
	}
	return b.mapErr(filepath.ToSlash(dst), b.root.Rename(tmp, dst))
}

// closeFile fsyncs (unless NoSync) and closes f.
func (b *bucket) closeFile(f *os.File) error {
	if !b.noSync {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// syncDir fsyncs a directory (relative to the root), making a rename in
// it durable.
func (b *bucket) syncDir(dir string) error {
	if b.noSync {
		return nil
	}
	d, err := b.root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func isNotDir(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) && errno == syscall.ENOTDIR
}
