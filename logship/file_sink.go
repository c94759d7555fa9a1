package logship

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rotation says when a FileSink starts a new file and how many old ones it
// keeps. The zero value never rotates.
type Rotation struct {
	// MaxBytes rotates the file before a batch would take it past this
	// size; 0 means no limit. A batch is never split across files, so a
	// batch larger than MaxBytes makes a file of its own.
	MaxBytes int64
	// MaxAge rotates the file, at the next Write, once it is this old,
	// counted from when the Sink opened or created it; 0 means no limit.
	MaxAge time.Duration
	// Keep is how many rotated files are kept; older ones are deleted
	// after each rotation. 0 keeps them all. Rotated names sort in
	// rotation order even when the wall clock steps back: a name then
	// takes a time just after the newest one's.
	Keep int
	// Compress gzips each rotated file (to <name>.gz) after rotating it.
	Compress bool
}

func (r Rotation) validate() error {
	switch {
	case r.MaxBytes < 0:
		return fmt.Errorf("%w: Rotation.MaxBytes %d is negative", ErrInvalid, r.MaxBytes)
	case r.MaxAge < 0:
		return fmt.Errorf("%w: Rotation.MaxAge %v is negative", ErrInvalid, r.MaxAge)
	case r.Keep < 0:
		return fmt.Errorf("%w: Rotation.Keep %d is negative", ErrInvalid, r.Keep)
	}
	return nil
}

// fileSinkNow is the clock of rotation, set by tests.
var fileSinkNow = time.Now

// rotatedStamp is the UTC time in a rotated file's name
// (<name>.<stamp>[-n][.gz]): fixed width, so names sort by age.
const rotatedStamp = "20060102T150405.000000000Z"

// FileSink returns a Sink appending each record to the file at path as
// one line of NDJSON, rotating it as rotate says. It is NewFileSink for
// callers that wire Sinks without checking errors: when NewFileSink fails
// (a bad Rotation, a missing directory), the Sink it returns refuses every
// record of every Write with that error marked Permanent, so that the
// records reach the dead-letter Sink and the reason is seen.
func FileSink(path string, rotate Rotation) Sink {
	s, err := NewFileSink(path, rotate)
	if err != nil {
		return brokenSink{err}
	}
	return s
}

// NewFileSink is FileSink returning its configuration errors (wrapping
// ErrInvalid for a bad path or Rotation) instead of a Sink that reports
// them on Write. The directory of path must exist.
//
// Every file operation goes through an os.Root on that directory: no
// symbolic link (at path, or where a rotated file goes) and no ".." leads
// outside it. A Write appends the batch in one write(2) and, if that
// fails (a full disk), cuts the file back to where it was, so that no
// half line stays, and returns the error as retryable: space may come
// back, and rotation's Keep may free it. A record whose JSON holds a
// newline would break the NDJSON framing and is refused, permanently.
// A file renamed or deleted by another program (logrotate without
// copytruncate, an operator) is noticed at the next Write, which creates
// the file at path again and appends there; the renamed file keeps what
// was written before. Close fsyncs and closes the file. The Sink is safe
// for concurrent use.
func NewFileSink(path string, rotate Rotation) (Sink, error) {
	if err := rotate.validate(); err != nil {
		return nil, fmt.Errorf("logship: FileSink %q: %w", path, err)
	}
	base := filepath.Base(path)
	// A trailing separator names a directory: Base would drop it and
	// name the file after the directory, inside it.
	if path == "" || os.IsPathSeparator(path[len(path)-1]) || base == "." || base == ".." {
		return nil, fmt.Errorf("%w: FileSink: path %q names no file", ErrInvalid, path)
	}
	root, err := os.OpenRoot(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("logship: FileSink %q: directory: %w", path, err)
	}
	s := &fileSink{path: path, base: base, root: root, rot: rotate}
	if err := s.open(); err != nil {
		root.Close()
		return nil, err
	}
	return s, nil
}

type fileSink struct {
	path, base string
	rot        Rotation

	mu     sync.Mutex
	root   *os.Root
	f      *os.File // nil after a failed reopen: the next Write tries again
	size   int64
	opened time.Time
	buf    []byte
	closed bool
}

// open opens (or creates) the active file for appending.
func (s *fileSink) open() error {
	f, err := s.root.OpenFile(s.base, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("logship: FileSink %q: open: %w", s.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("logship: FileSink %q: stat: %w", s.path, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return fmt.Errorf("%w: FileSink %q is not a regular file", ErrInvalid, s.path)
	}
	s.f, s.size, s.opened = f, st.Size(), fileSinkNow()
	return nil
}

func (s *fileSink) Write(_ context.Context, batch []Record) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return Result{}, Permanent(fmt.Errorf("logship: FileSink %q: %w", s.path, ErrClosed))
	}
	var res Result
	buf := s.buf[:0]
	for i, r := range batch {
		if bytes.IndexByte(r.JSON, '\n') >= 0 {
			res.Failures = append(res.Failures, Failure{Index: i, Err: fmt.Errorf("%w: FileSink: record %q: its JSON holds a newline, which would split its NDJSON line", ErrInvalid, r.ID)})
			continue
		}
		buf = append(append(buf, r.JSON...), '\n')
	}
	s.buf = buf
	if len(buf) == 0 {
		return res, nil
	}
	if s.f != nil && s.movedAway() {
		// Rotated or deleted by someone else (logrotate's create mode,
		// an operator's rm): writing on would put the batch where no one
		// reads it, so the name is opened again, as a new file.
		_ = s.f.Sync()
		s.f.Close()
		s.f = nil
	}
	if s.f == nil {
		if err := s.open(); err != nil {
			return Result{}, err
		}
	}
	if s.dueForRotation(int64(len(buf))) {
		if err := s.rotate(); err != nil {
			return Result{}, err
		}
	}
	if n, err := s.f.Write(buf); err != nil {
		if n > 0 {
			// No half line stays for the retry to write after.
			_ = s.f.Truncate(s.size)
		}
		return Result{}, fmt.Errorf("logship: FileSink %q: write: %w", s.path, err)
	}
	s.size += int64(len(buf))
	return res, nil
}

// movedAway reports whether the active file's name no longer leads to
// the open file: two stats a batch. An error reading the open file's own
// stat is not taken for a move (the write reports what is wrong).
func (s *fileSink) movedAway() bool {
	open, err := s.f.Stat()
	if err != nil {
		return false
	}
	named, err := s.root.Stat(s.base) // follows a link as open does
	return err != nil || !os.SameFile(open, named)
}

func (s *fileSink) dueForRotation(adding int64) bool {
	if s.size == 0 {
		return false
	}
	return s.rot.MaxBytes > 0 && s.size+adding > s.rot.MaxBytes ||
		s.rot.MaxAge > 0 && fileSinkNow().Sub(s.opened) >= s.rot.MaxAge
}

// rotate renames the active file to a free rotated name, opens a new one,
// then compresses and prunes. A failure before the rename leaves the
// active file in place; after it, the next Write reopens.
func (s *fileSink) rotate() error {
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("logship: FileSink %q: rotate: fsync: %w", s.path, err)
	}
	name, err := s.freeName(s.rotationStamp())
	if err != nil {
		return err
	}
	s.f.Close()
	s.f = nil
	// Rename replaces a link planted at name rather than following it,
	// and freeName already skipped names that exist.
	if err := s.root.Rename(s.base, name); err != nil {
		return fmt.Errorf("logship: FileSink %q: rotate to %q: %w", s.path, name, err)
	}
	if err := s.open(); err != nil {
		return err
	}
	if s.rot.Compress {
		s.compress(name)
	}
	s.prune()
	return nil
}

// rotationStamp is the time to name the next rotated file after: now, or
// just after the newest rotated file when the wall clock stepped back
// behind it, so that names keep sorting in rotation order and prune
// removes the oldest records, never the ones just rotated.
func (s *fileSink) rotationStamp() time.Time {
	t := fileSinkNow()
	for _, n := range s.rotatedNames() {
		if st, err := time.Parse(rotatedStamp, n[len(s.base)+1:][:len(rotatedStamp)]); err == nil && !t.After(st) {
			t = st.Add(time.Nanosecond)
		}
	}
	return t
}

// freeName is a rotated name for t that does not exist yet, compressed or
// not.
func (s *fileSink) freeName(t time.Time) (string, error) {
	stamp := s.base + "." + t.UTC().Format(rotatedStamp)
	for i := 0; i < 1000; i++ {
		name := stamp
		if i > 0 {
			name += "-" + strconv.Itoa(i)
		}
		if s.free(name) && s.free(name+".gz") {
			return name, nil
		}
	}
	return "", fmt.Errorf("logship: FileSink %q: rotate: no free name for %s", s.path, stamp)
}

func (s *fileSink) free(name string) bool {
	_, err := s.root.Lstat(name)
	return errors.Is(err, fs.ErrNotExist)
}

// compress gzips the rotated file name to name.gz and removes name. It
// writes name.gz.partial first and renames it when complete and synced,
// so that a crash never leaves a cut .gz beside (or instead of) the
// records; a leftover .partial is garbage beside an intact name. On any
// failure name stays, uncompressed: the records are safe.
func (s *fileSink) compress(name string) {
	in, err := s.root.Open(name)
	if err != nil {
		return
	}
	defer in.Close()
	tmp := name + ".gz.partial"
	// O_EXCL: never through a link planted at tmp.
	out, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return
	}
	zw := gzip.NewWriter(out)
	_, err = io.Copy(zw, in)
	err = errors.Join(err, zw.Close(), out.Sync(), out.Close())
	if err == nil {
		// Rename replaces a link planted at name.gz since freeName looked.
		err = s.root.Rename(tmp, name+".gz")
	}
	if err != nil {
		_ = s.root.Remove(tmp)
		return
	}
	_ = s.root.Remove(name)
}

// prune deletes the oldest rotated files beyond Keep.
func (s *fileSink) prune() {
	if s.rot.Keep == 0 {
		return
	}
	rotated := s.rotatedNames()
	slices.Sort(rotated)
	for len(rotated) > s.rot.Keep {
		_ = s.root.Remove(rotated[0])
		rotated = rotated[1:]
	}
}

// rotatedNames lists this Sink's rotated files (none when the directory
// cannot be read).
func (s *fileSink) rotatedNames() []string {
	dir, err := s.root.Open(".")
	if err != nil {
		return nil
	}
	names, err := dir.Readdirnames(-1)
	dir.Close()
	if err != nil {
		return nil
	}
	var rotated []string
	for _, n := range names {
		if s.isRotated(n) {
			rotated = append(rotated, n)
		}
	}
	return rotated
}

// isRotated reports whether name is one of this Sink's rotated files:
// <base>.<stamp>[-n][.gz].
func (s *fileSink) isRotated(name string) bool {
	rest, ok := strings.CutPrefix(name, s.base+".")
	if !ok || len(rest) < len(rotatedStamp) {
		return false
	}
	if _, err := time.Parse(rotatedStamp, rest[:len(rotatedStamp)]); err != nil {
		return false
	}
	rest = strings.TrimSuffix(rest[len(rotatedStamp):], ".gz")
	if rest == "" {
		return true
	}
	n, ok := strings.CutPrefix(rest, "-")
	_, err := strconv.Atoi(n)
	return ok && err == nil
}

// Close fsyncs and closes the file. It is idempotent.
func (s *fileSink) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.f != nil {
		err = errors.Join(s.f.Sync(), s.f.Close())
	}
	err = errors.Join(err, s.root.Close())
	if err != nil {
		return fmt.Errorf("logship: FileSink %q: close: %w", s.path, err)
	}
	return nil
}

// brokenSink is a Sink that could not be made: it refuses every batch
// with the reason, for good.
type brokenSink struct{ err error }

func (b brokenSink) Write(context.Context, []Record) (Result, error) {
	return Result{}, Permanent(b.err)
}

func (b brokenSink) Close(context.Context) error { return nil }
