package nfsstore

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"strings"

	"github.com/vmware/go-nfs-client/nfs"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// Layout, as localstore's: the object "a/b" is the file a/b under the
// export, byte for byte; .filestore/tmp holds files being written and
// .filestore/attrs/<name>.json each object's attributes, trusted while
// the file's id, size and time match.
const reserved = ".filestore"

const (
	nf3Reg = 1
	nf3Dir = 2
)

func checkName(name string) error {
	if name == reserved || strings.HasPrefix(name, reserved+"/") {
		return fmt.Errorf("%w: names under %s/ are reserved", fs.ErrInvalid, reserved)
	}
	return nil
}

func attrsPath(name string) string { return reserved + "/attrs/" + name + ".json" }

func tmpName(prefix string) string {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return reserved + "/tmp/" + prefix + hex.EncodeToString(b[:])
}

// lookup returns name's attributes and handle; a directory (or nothing)
// is fs.ErrNotExist for an object.
func lookupFile(t *nfs.Target, name string) (*nfs.Fattr, []byte, error) {
	fi, fh, err := t.Lookup(name)
	if err != nil {
		return nil, nil, mapErr(name, err)
	}
	a, _ := fi.(*nfs.Fattr)
	if a == nil || a.Type != nf3Reg {
		return nil, nil, fmt.Errorf("%q: %w (not a regular file)", name, fs.ErrNotExist)
	}
	return a, fh, nil
}

// mkdirAll creates dir and its parents as needed.
func mkdirAll(t *nfs.Target, dir string) error {
	if dir == "" || dir == "." {
		return nil
	}
	p := ""
	for _, el := range strings.Split(dir, "/") {
		p = path.Join(p, el)
		fi, _, err := t.Lookup(p)
		if err == nil {
			if a, _ := fi.(*nfs.Fattr); a != nil && a.Type != nf3Dir {
				return fmt.Errorf("%q: %w: a parent of it is an object (on a file system a name cannot be a file and a directory)", p, fs.ErrExist)
			}
			continue
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if _, err := t.Mkdir(p, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return nil
}

type attrsFile struct {
	FileID      uint64            `json:"fileid"`
	Size        int64             `json:"size"`
	ModTimeNs   int64             `json:"mtime_ns"`
	SHA256      string            `json:"sha256,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

func (a *attrsFile) describes(f *nfs.Fattr) bool {
	return a.FileID == f.Fileid && a.Size == f.Size() && a.ModTimeNs == f.ModTime().UnixNano()
}

// attributes reads name's attributes for the file f describes.
func (b *bucket) attributes(t *nfs.Target, name string, f *nfs.Fattr) *driver.Attributes {
	out := &driver.Attributes{Size: f.Size(), ModTime: f.ModTime(), ContentType: mime.TypeByExtension(path.Ext(name))}
	data, err := b.readAll(t, attrsPath(name))
	if err != nil {
		return out
	}
	var a attrsFile
	if json.Unmarshal(data, &a) != nil || !a.describes(f) {
		return out
	}
	out.SHA256, _ = hex.DecodeString(a.SHA256)
	out.ContentType, out.Metadata = a.ContentType, a.Metadata
	return out
}

// readAll reads a small file whole.
func (b *bucket) readAll(t *nfs.Target, name string) ([]byte, error) {
	a, fh, err := lookupFile(t, name)
	if err != nil {
		return nil, err
	}
	var out []byte
	for uint64(len(out)) < a.Filesize {
		data, eof, err := read3(t, b.auth, fh, uint64(len(out)), b.rtPref)
		if err != nil {
			return nil, err
		}
		out = append(out, data...)
		if eof || len(data) == 0 {
			break
		}
	}
	return out, nil
}

// writeSmall writes data to a new temporary file and renames it to name.
func (b *bucket) writeSmall(t *nfs.Target, name string, data []byte) error {
	tmp := tmpName("attrs-")
	fh, err := t.Create(tmp, 0o644)
	if err != nil {
		return err
	}
	for off := 0; off < len(data); {
		n, _, err := write3(t, b.auth, fh, uint64(off), data[off:min(len(data), off+int(b.wtPref))], fileSync)
		if err != nil {
			_ = t.Remove(tmp)
			return err
		}
		off += n
	}
	if err := mkdirAll(t, path.Dir(name)); err != nil {
		_ = t.Remove(tmp)
		return err
	}
	if err := b.renameIn(t, tmp, name); err != nil {
		_ = t.Remove(tmp)
		return err
	}
	return nil
}

// renameIn is RENAME3 between two paths under the export.
func (b *bucket) renameIn(t *nfs.Target, from, to string) error {
	_, fromDir, err := t.Lookup(path.Dir(from))
	if err != nil {
		return mapErr(from, err)
	}
	_, toDir, err := t.Lookup(path.Dir(to))
	if err != nil {
		return mapErr(to, err)
	}
	return rename(t, b.auth, fromDir, path.Base(from), toDir, path.Base(to))
}

func (b *bucket) Attributes(ctx context.Context, name string) (*driver.Attributes, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var out *driver.Attributes
	err := b.do(ctx, func(t *nfs.Target) error {
		a, _, err := lookupFile(t, name)
		if err != nil {
			return err
		}
		out = b.attributes(t, name, a)
		return nil
	})
	return out, err
}

// writer writes to a temporary file with UNSTABLE WRITEs (the server may
// cache them) and COMMITs it before the rename: durable when Commit
// returns, without a disk write per chunk.
type writer struct {
	ctx  context.Context
	b    *bucket
	name string
	opts *driver.WriterOptions
	tmp  string
	fh   []byte
	off  uint64
	verf uint64 // the server's write verifier, from the first WRITE
	seen bool
}

func (b *bucket) NewWriter(ctx context.Context, name string, opts *driver.WriterOptions) (driver.Writer, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	w := &writer{ctx: ctx, b: b, name: name, opts: opts, tmp: tmpName("put-")}
	err := b.do(ctx, func(t *nfs.Target) error {
		if err := mkdirAll(t, reserved+"/tmp"); err != nil {
			return err
		}
		var err error
		w.fh, err = t.Create(w.tmp, 0o644)
		return err
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

func (w *writer) Write(p []byte) (int, error) {
	written := 0
	for written < len(p) {
		if err := w.ctx.Err(); err != nil {
			return written, err
		}
		chunk := p[written:min(len(p), written+int(w.b.wtPref))]
		var n int
		var verf uint64
		err := w.b.do(w.ctx, func(t *nfs.Target) error {
			var err error
			n, verf, err = write3(t, w.b.auth, w.fh, w.off, chunk, unstable)
			return err
		})
		if err != nil {
			return written, err
		}
		if w.seen && verf != w.verf {
			return written, errServerRestarted
		}
		w.verf, w.seen = verf, true
		w.off += uint64(n)
		written += n
	}
	return written, nil
}

func (w *writer) Commit(sum []byte) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	return w.b.do(w.ctx, func(t *nfs.Target) error {
		verf, err := commit(t, w.b.auth, w.fh)
		if err != nil {
			return err
		}
		if w.seen && verf != w.verf {
			return errServerRestarted
		}
		return w.b.commit(t, w.tmp, w.name, w.opts.IfNotExist, sum, w.opts.ContentType, w.opts.Metadata)
	})
}

// errServerRestarted: the write verifier changed, so the server restarted
// and may have lost UNSTABLE writes; the Put must start over.
var errServerRestarted = errors.New("nfsstore: the server restarted during the write (write verifier changed); put again")

// commit moves the finished temporary file to name — RENAME3, or LINK3
// then REMOVE3 for IfNotExist — then stores its attributes.
func (b *bucket) commit(t *nfs.Target, tmp, name string, ifNotExist bool, sum []byte, contentType string, meta map[string]string) error {
	a, fh, err := lookupFile(t, tmp)
	if err != nil {
		return err
	}
	if err := mkdirAll(t, path.Dir(name)); err != nil {
		_ = t.Remove(tmp)
		return err
	}
	if ifNotExist {
		_, dir, err := t.Lookup(path.Dir(name))
		if err == nil {
			err = link(t, b.auth, fh, dir, path.Base(name))
		}
		_ = t.Remove(tmp)
		if err != nil {
			return inTheWay(name, err)
		}
	} else if err := b.renameIn(t, tmp, name); err != nil {
		_ = t.Remove(tmp)
		return inTheWay(name, err)
	}
	data, err := json.Marshal(attrsFile{FileID: a.Fileid, Size: a.Size(), ModTimeNs: a.ModTime().UnixNano(),
		SHA256: hex.EncodeToString(sum), ContentType: contentType, Metadata: meta})
	if err != nil {
		return err
	}
	return b.writeSmall(t, attrsPath(name), data)
}

// inTheWay explains the errors of placing a file where a directory is.
func inTheWay(name string, err error) error {
	switch {
	case errors.Is(err, os.ErrExist):
		return fmt.Errorf("%q: %w", name, fs.ErrExist)
	case nfsErr(err) == nfs.NFS3ErrIsDir, nfsErr(err) == nfs.NFS3ErrNotEmpty:
		return fmt.Errorf("%q: %w: objects exist under %q/ (on a file system a name cannot be a file and a directory)", name, fs.ErrExist, name)
	case nfsErr(err) == nfs.NFS3ErrNotDir:
		return fmt.Errorf("%q: %w: a parent of it is an object", name, fs.ErrExist)
	}
	return err
}

// Abort removes the temporary file, with a context of its own: the
// caller's may be what ended the Put.
func (w *writer) Abort() error {
	ctx, cancel := context.WithTimeout(context.Background(), w.b.o.Timeout)
	defer cancel()
	return w.b.do(ctx, func(t *nfs.Target) error {
		if err := t.Remove(w.tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	})
}

// reader reads a range of a file by handle: positional READs, so it seeks
// and reads at offsets natively, and survives a reconnect (handles are
// persistent). The handle pins the version: filestore replaces a name by
// renaming another file over it, never by writing into it, so a handle
// reads one version or, once that file is gone, fails as stale
// (ErrReplaced).
type reader struct {
	ctx        context.Context // NewRangeReader's: bounds every READ
	b          *bucket
	name       string
	fh         []byte
	start, end uint64 // the range, in the file
	pos        uint64 // relative to start
	attrs      *driver.Attributes
	// buf holds what the last READ brought, from bufAt (relative): Read
	// asks for whole READs (rtPref, typically 1 MiB), so that an object
	// that fits one is read in one go, from one version.
	buf   []byte
	bufAt uint64
}

// NewRangeReader looks name up and reads the range's first READ at once.
// NFSv3 keeps no open-file state: a file replaced (renamed over) between
// the LOOKUP and that READ has a stale handle, and since nothing was
// handed out yet, it looks the name up again. From then on the reader is
// pinned to the file it found, and its attributes describe that file.
func (b *bucket) NewRangeReader(ctx context.Context, name string, off, n int64) (driver.Reader, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		r := &reader{ctx: ctx, b: b, name: name}
		err := b.do(ctx, func(t *nfs.Target) error {
			a, fh, err := lookupFile(t, name)
			if err != nil {
				return err
			}
			size := a.Size()
			off := min(off, size)
			n := n
			if n < 0 || off+n > size {
				n = size - off
			}
			r.fh, r.start, r.end, r.attrs = fh, uint64(off), uint64(off+n), b.attributes(t, name, a)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if afterLookup != nil {
			afterLookup()
		}
		if r.start == r.end {
			return r, nil
		}
		err = r.fill(0)
		if err == nil || !errors.Is(err, ErrReplaced) || try == 100 {
			return r, err
		}
	}
}

// afterLookup, when set (by tests), runs between a reader's LOOKUP and
// its first READ.
var afterLookup func()

func (r *reader) Attributes() *driver.Attributes { return r.attrs }
func (r *reader) Close() error                   { return nil }

// Read reads on from the position, a whole READ at a time.
func (r *reader) Read(p []byte) (int, error) {
	if r.pos < r.bufAt || r.pos >= r.bufAt+uint64(len(r.buf)) {
		if r.start+r.pos >= r.end {
			return 0, io.EOF
		}
		if err := r.fill(r.pos); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.buf[r.pos-r.bufAt:])
	r.pos += uint64(n)
	return n, nil
}

// fill reads one READ's worth from pos (relative) into buf.
func (r *reader) fill(pos uint64) error {
	chunk := make([]byte, min(uint64(r.b.rtPref), r.end-r.start-pos))
	n, err := r.ReadAt(chunk, int64(pos))
	if n == 0 && err != nil {
		return err
	}
	r.buf, r.bufAt = chunk[:n], pos
	return nil
}

// ReadAt reads by the handle; a stale handle (the file was replaced and
// is gone) is ErrReplaced.
func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	at := r.start + uint64(off)
	if at >= r.end {
		return 0, io.EOF
	}
	want := min(uint64(len(p)), r.end-at)
	got := 0
	for uint64(got) < want {
		var data []byte
		var eof bool
		err := r.b.do(r.ctx, func(t *nfs.Target) error {
			var err error
			data, eof, err = read3(t, r.b.auth, r.fh, at+uint64(got), uint32(min(want-uint64(got), uint64(r.b.rtPref))))
			return err
		})
		if nfsErr(err) == nfs.NFS3ErrStale {
			return got, fmt.Errorf("%q: %w", r.name, ErrReplaced)
		}
		if err != nil {
			return got, err
		}
		got += copy(p[got:], data)
		if eof || len(data) == 0 {
			break
		}
	}
	if got < len(p) {
		return got, io.EOF
	}
	return got, nil
}

func (r *reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += int64(r.pos)
	case io.SeekEnd:
		offset += int64(r.end - r.start)
	}
	if offset < 0 {
		return int64(r.pos), fmt.Errorf("%w: negative position", fs.ErrInvalid)
	}
	r.pos = uint64(offset)
	return offset, nil
}

func (b *bucket) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return b.do(ctx, func(t *nfs.Target) error {
		if _, _, err := lookupFile(t, name); err != nil {
			return err
		}
		if err := t.Remove(name); err != nil {
			return mapErr(name, err)
		}
		_ = t.Remove(attrsPath(name))
		pruneDirs(t, path.Dir(name), "")
		pruneDirs(t, path.Dir(attrsPath(name)), reserved+"/attrs")
		return nil
	})
}

// pruneDirs removes dir and its parents, up to top, while they are empty.
func pruneDirs(t *nfs.Target, dir, top string) {
	for dir != "." && dir != "" && dir != top {
		if t.RmDir(dir) != nil {
			return
		}
		dir = path.Dir(dir)
	}
}

func (b *bucket) Rename(ctx context.Context, from, to string) error {
	if err := checkName(to); err != nil {
		return err
	}
	return b.do(ctx, func(t *nfs.Target) error {
		if _, _, err := lookupFile(t, from); err != nil {
			return err
		}
		if err := mkdirAll(t, path.Dir(to)); err != nil {
			return err
		}
		if err := b.renameIn(t, from, to); err != nil {
			return inTheWay(to, err)
		}
		if mkdirAll(t, path.Dir(attrsPath(to))) == nil {
			_ = b.renameIn(t, attrsPath(from), attrsPath(to))
		}
		pruneDirs(t, path.Dir(from), "")
		pruneDirs(t, path.Dir(attrsPath(from)), reserved+"/attrs")
		return nil
	})
}

// Copy reads src and writes a new file under a temporary name, then
// commits it as dst with src's attributes (its SHA-256 when current,
// else computed while copying).
func (b *bucket) Copy(ctx context.Context, dst, src string) error {
	if err := checkName(dst); err != nil {
		return err
	}
	r, err := b.NewRangeReader(ctx, src, 0, -1)
	if err != nil {
		return err
	}
	attrs := r.Attributes()
	w, err := b.NewWriter(ctx, dst, &driver.WriterOptions{ContentType: attrs.ContentType, Metadata: attrs.Metadata})
	if err != nil {
		return err
	}
	h := newHash()
	if _, err := io.Copy(io.MultiWriter(w, h), r); err != nil {
		_ = w.Abort()
		return err
	}
	sum := attrs.SHA256
	if sum == nil {
		sum = h.Sum(nil)
	}
	if err := w.Commit(sum); err != nil {
		_ = w.Abort()
		return err
	}
	return nil
}

// List walks the export's tree (driver.Walk) with READDIRPLUS, which
// brings each file's attributes along, leaving out .filestore. Only
// regular files are objects and only directories are descended: a
// symbolic link is neither (LOOKUP never follows one), nor is a FIFO, a
// socket or a device.
func (b *bucket) List(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	var page *driver.ListPage
	err := b.do(ctx, func(t *nfs.Target) error {
		fattrs := map[string]nfs.Fattr{}
		readDir := func(dir string) ([]driver.WalkEntry, error) {
			entries, err := t.ReadDirPlus(strings.TrimSuffix(dir, "/"))
			if errors.Is(err, os.ErrNotExist) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			out := make([]driver.WalkEntry, 0, len(entries))
			for _, e := range entries {
				if e.FileName == "." || e.FileName == ".." || dir+e.FileName == reserved {
					continue
				}
				a := e.Attr.Attr
				if !e.Attr.IsSet { // the server left the attributes out: ask
					fi, _, err := t.Lookup(dir + e.FileName)
					fa, _ := fi.(*nfs.Fattr)
					if err != nil || fa == nil {
						continue // gone meanwhile
					}
					a = *fa
				}
				switch a.Type {
				case nf3Dir:
					out = append(out, driver.WalkEntry{Name: e.FileName, Dir: true})
				case nf3Reg:
					fattrs[dir+e.FileName] = a
					out = append(out, driver.WalkEntry{Name: e.FileName})
				}
			}
			return out, nil
		}
		var err error
		page, err = driver.Walk(opts, readDir, func(name string) *driver.Attributes {
			a, ok := fattrs[name]
			if !ok {
				return nil
			}
			return b.attributes(t, name, &a)
		})
		return err
	})
	return page, err
}
