package hdfsstore

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"os"
	"path"
	"strconv"

	"github.com/colinmarc/hdfs/v2"
	"google.golang.org/protobuf/proto"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// xattrKey is the extended attribute holding an object's attributes, in
// HDFS's user namespace (readable and writable by the file's owner).
const xattrKey = "user.groundwork.filestore"

// record is the xattr's JSON. ID, Size and MTime are those of the file
// it was set on: a record that does not match its file (a name replaced
// between two calls; a file rewritten in place by another program, which
// keeps its inode and maybe its size, never its modification time) is
// not believed.
type record struct {
	ID          uint64            `json:"id"`
	Size        int64             `json:"size"`
	MTime       int64             `json:"mtime"` // modification time, Unix ms, as the namenode keeps it
	SHA256      string            `json:"sha256,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// HdfsFileStatusProto's file types.
const (
	isDir     = 1
	isFile    = 2
	isSymlink = 3
)

// status reads the fields hdfsstore needs from the namenode's
// HdfsFileStatusProto, which the client hands out as Sys() of a generated
// type internal to it: by protobuf reflection.
func status(fi os.FileInfo) (fileType int, id uint64) {
	m, ok := fi.Sys().(proto.Message)
	if !ok {
		return 0, 0
	}
	r := m.ProtoReflect()
	fields := r.Descriptor().Fields()
	if f := fields.ByName("fileType"); f != nil {
		fileType = int(r.Get(f).Enum())
	}
	if f := fields.ByName("fileId"); f != nil {
		id = r.Get(f).Uint()
	}
	return fileType, id
}

// fileInfo stats p: a regular file, else fs.ErrNotExist (a directory or
// a symbolic link is no object).
func fileInfo(c *hdfs.Client, name, p string) (os.FileInfo, uint64, error) {
	fi, err := c.Stat(p)
	if err != nil {
		if exception(err) == parentNotDirException {
			return nil, 0, fmt.Errorf("%q: %w", name, fs.ErrNotExist)
		}
		return nil, 0, mapErr(name, err)
	}
	t, id := status(fi)
	if t != isFile {
		return nil, 0, fmt.Errorf("%q: %w (not a regular file)", name, fs.ErrNotExist)
	}
	return fi, id, nil
}

// attributes describes the file fi (whose id is id) from its xattr.
// replaced reports a record of another file (the name replaced since fi
// was read): the caller stats again. Without a record that matches (a
// file another program wrote, or changed in place since: appended to,
// truncated), size and time only — unless that program is still writing
// it, which is no object yet: fs.ErrNotExist.
func (b *bucket) attributes(p, name string, fi os.FileInfo, id uint64) (a *driver.Attributes, replaced bool, err error) {
	a = plain(name, fi, id)
	// getXAttrs, not listXAttrs: the namenode lists names only.
	xs, err := b.c.GetXAttrs(p, xattrKey)
	switch {
	case noSuchXAttr(err):
		return b.foreign(p, name, a) // a file another program wrote
	case err != nil && errors.Is(mapErr(name, err), fs.ErrNotExist):
		return nil, true, nil // gone meanwhile
	case err != nil && errors.Is(mapErr(name, err), fs.ErrPermission):
		return a, false, nil // unreadable to us: shown as getFileInfo shows it
	case err != nil:
		return nil, false, err
	}
	var rec record
	if v, ok := xs[xattrKey]; !ok || json.Unmarshal([]byte(v), &rec) != nil {
		return b.foreign(p, name, a)
	}
	if rec.ID != id {
		return a, true, nil
	}
	if rec.Size != fi.Size() || rec.MTime != fi.ModTime().UnixMilli() {
		return b.foreign(p, name, a) // changed in place since
	}
	a.SHA256, _ = hex.DecodeString(rec.SHA256)
	a.ContentType, a.Metadata = rec.ContentType, rec.Metadata
	return a, false, nil
}

// plain are the attributes of a file without a record.
func plain(name string, fi os.FileInfo, id uint64) *driver.Attributes {
	return &driver.Attributes{Size: fi.Size(), ModTime: fi.ModTime(), ContentType: mime.TypeByExtension(path.Ext(name)),
		Version: strconv.FormatUint(id, 10)}
}

// foreign gives a, the attributes of a file without a record, unless the
// file is still being written.
func (b *bucket) foreign(p, name string, a *driver.Attributes) (*driver.Attributes, bool, error) {
	uc, err := underConstruction(b.c, p)
	switch {
	case err != nil && errors.Is(mapErr(name, err), fs.ErrNotExist):
		return nil, true, nil // gone meanwhile
	case errors.Is(mapErr(name, err), fs.ErrPermission):
		return a, false, nil // unreadable to us: shown as getFileInfo shows it
	case err != nil:
		return nil, false, err
	case uc:
		return nil, false, fmt.Errorf("%q: %w (a file another program is still writing)", name, fs.ErrNotExist)
	}
	return a, false, nil
}

// noSuchXAttr: the client's GetXAttrs error for a file without the
// attribute (its own error value is unexported: matched by its text).
func noSuchXAttr(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe) && pe.Err != nil && pe.Err.Error() == "one or more keys not found"
}

// stat is fileInfo and attributes, again while the name is replaced
// between the two. A record of another file on the file the name still
// holds was copied from elsewhere (distcp -px copies extended
// attributes): that file has no record of its own.
func (b *bucket) stat(name, p string) (os.FileInfo, *driver.Attributes, error) {
	var last uint64
	for try := 0; ; try++ {
		fi, id, err := fileInfo(b.c, name, p)
		if err != nil {
			return nil, nil, err
		}
		var a *driver.Attributes
		var replaced bool
		if id == last {
			a, replaced, err = b.foreign(p, name, plain(name, fi, id))
		} else {
			a, replaced, err = b.attributes(p, name, fi, id)
		}
		last = id
		if err != nil {
			return nil, nil, err
		}
		if !replaced || try == 10 {
			if a == nil {
				return nil, nil, fmt.Errorf("%q: %w", name, fs.ErrNotExist)
			}
			return fi, a, nil
		}
	}
}

// encodeRecord is the xattr value for a file.
func encodeRecord(fi os.FileInfo, id uint64, sum []byte, contentType string, meta map[string]string) (string, error) {
	data, err := json.Marshal(record{ID: id, Size: fi.Size(), MTime: fi.ModTime().UnixMilli(), SHA256: hex.EncodeToString(sum),
		ContentType: contentType, Metadata: meta})
	return string(data), err
}
