package localstore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// attrsRecord is an object's attributes with the identity of the file
// they describe: they count only while inode, size and modification time
// still match (not after another program rewrote the file).
type attrsRecord struct {
	Inode       uint64            `json:"inode"`
	Size        int64             `json:"size"`
	ModTimeNs   int64             `json:"mtime_ns"`
	SHA256      string            `json:"sha256,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

func newRecord(info fs.FileInfo, sum []byte, contentType string, meta map[string]string) attrsRecord {
	return attrsRecord{Inode: inode(info), Size: info.Size(), ModTimeNs: info.ModTime().UnixNano(),
		SHA256: hex.EncodeToString(sum), ContentType: contentType, Metadata: meta}
}

func (a *attrsRecord) describes(info fs.FileInfo) bool {
	return a.Inode == inode(info) && a.Size == info.Size() && a.ModTimeNs == info.ModTime().UnixNano()
}

// maxAttrs bounds one encoded record (an extended attribute holds 64 KiB
// at most on Linux); maxAttrsFile what is read of an attributes file,
// which holds two records at most.
const (
	maxAttrs     = 64 << 10
	maxAttrsFile = 2*maxAttrs + 16
)

// checkAttrsSize refuses, before any content is written, a content type
// and metadata too large to store.
func checkAttrsSize(contentType string, meta map[string]string) error {
	widest := attrsRecord{Inode: math.MaxUint64, Size: math.MaxInt64, ModTimeNs: math.MinInt64,
		SHA256: strings.Repeat("0", 2*sha256.Size), ContentType: contentType, Metadata: meta}
	data, err := json.Marshal(widest)
	if err != nil {
		return err
	}
	if len(data) > maxAttrs {
		return fmt.Errorf("%w: content type and metadata take %d bytes encoded; localstore stores %d at most", fs.ErrInvalid, len(data), maxAttrs)
	}
	return nil
}

// attributes reads name's attributes for its open file f, which info
// describes: from f's extended attribute, else from the attributes file.
func (b *bucket) attributes(name string, f *os.File, info fs.FileInfo) *driver.Attributes {
	out := &driver.Attributes{Size: info.Size(), ModTime: info.ModTime(), ContentType: mime.TypeByExtension(path.Ext(name))}
	var rec *attrsRecord
	if data, err := getXattr(f); err == nil {
		var a attrsRecord
		if json.Unmarshal(data, &a) == nil && a.describes(info) {
			rec = &a
		}
	} else {
		rec = b.fileRecord(name, info)
	}
	if rec == nil {
		return out // none, not ours, or describing an older file
	}
	out.SHA256, _ = hex.DecodeString(rec.SHA256)
	out.ContentType, out.Metadata = rec.ContentType, rec.Metadata
	return out
}

// attrsPath is the path of name's attributes file relative to the
// reserved directory: one flat directory, keyed by the name's SHA-256, so
// that no directory there mirrors the objects' (one to plant a link in,
// or to be pruned under a Put).
func attrsPath(name string) string {
	sum := sha256.Sum256([]byte(name))
	return filepath.Join(attrsDir, hex.EncodeToString(sum[:])+".json")
}

// fileRecord is the record in name's attributes file that describes the
// file info describes, or nil.
func (b *bucket) fileRecord(name string, info fs.FileInfo) *attrsRecord {
	for _, r := range b.readAttrsFile(name) {
		if r.describes(info) {
			return &r
		}
	}
	return nil
}

// readAttrsFile reads name's attributes file, through the reserved root,
// which no link leads out of. Whatever another program left there is
// read safely: the open does not block (a FIFO), only a regular file is
// read, and only up to maxAttrsFile bytes; what does not parse is none.
func (b *bucket) readAttrsFile(name string) []attrsRecord {
	f, err := b.meta.OpenFile(attrsPath(name), os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(f, maxAttrsFile+1))
	if err != nil || len(data) > maxAttrsFile {
		return nil
	}
	var recs []attrsRecord
	if json.Unmarshal(data, &recs) != nil {
		return nil
	}
	return recs
}

// writeAttrs stores rec in name's attributes file, before the file rec
// describes is placed at name (the caller holds name's lock). The file
// keeps the record of the file now at name beside it: until the new file
// is placed, rec describes no file there and the old record still counts,
// so a Put that fails leaves the name's attributes as they were; after,
// the old record describes nothing there and goes at the next write.
// fresh: the file had no record to keep (the caller removes it again if
// the Put then fails).
func (b *bucket) writeAttrs(name string, rec attrsRecord) (fresh bool, err error) {
	recs := []attrsRecord{rec}
	if cur, err := b.root.Stat(rel(name)); err == nil && cur.Mode().IsRegular() {
		if old := b.fileRecord(name, cur); old != nil {
			recs = []attrsRecord{*old, rec}
		}
	}
	data, err := json.Marshal(recs)
	if err != nil {
		return false, err
	}
	if err := b.putReservedFile(attrsPath(name), data); err != nil {
		// Not wrapped: an fs.ErrNotExist here is not the object's.
		return false, fmt.Errorf("storing the attributes of %q in %s/%s: %v", name, reserved, attrsDir, err)
	}
	return len(recs) == 1, nil
}

// putReservedFile replaces the file p (relative to the reserved
// directory) with data, atomically and durably: a temporary file, fsync,
// rename, fsync of the directory. The attributes directory is made again
// if another program removed it.
func (b *bucket) putReservedFile(p string, data []byte) error {
	f, tmp, err := b.createTemp("attrs-")
	if err != nil {
		return err
	}
	defer b.removeTemp(tmp) // gone once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := b.closeFile(f); err != nil {
		return err
	}
	if testHook != nil {
		testHook("attrs", filepath.ToSlash(p))
	}
	err = b.meta.Rename(tempPath(tmp), p)
	if err != nil {
		// Made again if another program removed it; or why it cannot
		// serve (a link put in its place).
		if err := b.remakeReserved(filepath.Dir(p)); err != nil {
			return err
		}
		if errors.Is(err, fs.ErrNotExist) {
			err = b.meta.Rename(tempPath(tmp), p)
		}
	}
	if err != nil {
		return err
	}
	return b.fsyncReserved(filepath.Dir(p))
}

// removeAttrsFile removes name's attributes file, if any: its records
// describe no file at name any more.
func (b *bucket) removeAttrsFile(name string) { _ = b.meta.Remove(attrsPath(name)) }

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

func isNotDir(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) && errno == syscall.ENOTDIR
}
