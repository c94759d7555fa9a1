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

func inode(info fs.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

func (a *attrsFile) describes(info fs.FileInfo) bool {
	return a.Inode == inode(info) && a.Size == info.Size() && a.ModTimeNs == info.ModTime().UnixNano()
}

// attributes reads name's attributes for the file info describes.
func (b *bucket) attributes(name string, info fs.FileInfo) *driver.Attributes {
	out := &driver.Attributes{Size: info.Size(), ModTime: info.ModTime(), ContentType: mime.TypeByExtension(path.Ext(name))}
	data, err := os.ReadFile(b.attrsPath(name))
	if err != nil {
		return out
	}
	var a attrsFile
	if json.Unmarshal(data, &a) != nil || !a.describes(info) {
		return out // not ours, or describing an older file
	}
	out.SHA256, _ = hex.DecodeString(a.SHA256)
	out.ContentType, out.Metadata = a.ContentType, a.Metadata
	return out
}

// writeAttrs stores the attributes of name's file, as info describes it,
// replacing the attributes file atomically.
func (b *bucket) writeAttrs(name string, info fs.FileInfo, sum []byte, contentType string, meta map[string]string) error {
	data, err := json.Marshal(attrsFile{Inode: inode(info), Size: info.Size(), ModTimeNs: info.ModTime().UnixNano(),
		SHA256: hex.EncodeToString(sum), ContentType: contentType, Metadata: meta})
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(b.tmp, "attrs-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // gone once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := b.closeFile(f); err != nil {
		return err
	}
	dst := b.attrsPath(name)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.Rename(f.Name(), dst)
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

// syncDir fsyncs a directory, making a rename in it durable.
func (b *bucket) syncDir(dir string) error {
	if b.noSync {
		return nil
	}
	d, err := os.Open(dir)
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
