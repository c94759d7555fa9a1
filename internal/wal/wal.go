// Package wal is a crash-safe, append-only disk buffer: the outage buffer
// of mq and the disk buffer of logship.
//
// Records get consecutive positions. Append returns once its record is
// durable under the sync policy; Replay yields the unacknowledged records
// oldest first; Ack(pos) acknowledges every record up to pos and reclaims
// space by deleting whole segments. Every file is reached through an
// os.Root on the directory, so no name or link leads outside it. Every
// record carries a CRC32C. On Open a torn tail left by a crash (a record
// cut short or failing its checksum at the end of the newest segment) is
// cut off and never replayed; damage anywhere else, a segment's damaged
// header included, is reported as ErrCorrupt (a *DamageError from
// Replay), never skipped silently: Damaged hands their bytes to the
// caller, who then gives them up with Ack.
//
// Durability: with SyncAlways every acknowledged Append survives a power
// loss; with SyncInterval it survives a process crash, and a power loss
// costs at most the last interval; with SyncNever it survives a process
// crash only. Acks are persisted too; a lost ack costs a redelivery, never
// a record.
package wal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SyncPolicy says when appended records are fsynced.
type SyncPolicy int

// The sync policies.
const (
	SyncAlways   SyncPolicy = iota // fsync before Append returns
	SyncInterval                   // fsync every Options.SyncInterval
	SyncNever                      // leave it to the operating system
)

// Errors returned by the WAL.
var (
	ErrFull    = errors.New("wal: buffer full")
	ErrCorrupt = errors.New("wal: corrupt segment")
	ErrClosed  = errors.New("wal: closed")
	ErrLocked  = errors.New("wal: directory locked")
	// ErrTooLarge is returned by Append for a record that no amount of
	// acknowledging could make room for: over MaxRecordBytes, or alone
	// over Options.MaxBytes (that error wraps ErrFull too).
	ErrTooLarge = errors.New("wal: record too large")
	// ErrStop, returned by a Replay callback, ends the replay early
	// without error.
	ErrStop = errors.New("wal: stop replay")
)

// Options tunes a WAL. The zero value (or nil) is usable.
type Options struct {
	// SegmentBytes is the size at which the active segment is sealed and
	// a new one started. Default an eighth of MaxBytes, at most 8 MiB
	// and at least 64 bytes.
	SegmentBytes int64
	// MaxBytes caps the bytes held on disk, acknowledged records not yet
	// reclaimed included; Append beyond it fails with ErrFull. Default
	// 1 GiB; negative means no cap.
	MaxBytes int64
	// Sync is the fsync policy. Default SyncAlways.
	Sync SyncPolicy
	// SyncInterval is the period for SyncInterval. Default 200ms.
	SyncInterval time.Duration
}

type segment struct {
	first  uint64 // position of the first record
	name   string // file name in the WAL's directory
	size   int64
	sealed bool // no more appends, though not full (Damaged)
	// badHeader, found on Open, makes Replay report the whole segment
	// as damage, for the caller to give up, rather than Open fail and
	// keep every other record from being read.
	badHeader error
}

// WAL is a write-ahead log in one directory. It is safe for concurrent use.
type WAL struct {
	dir  string
	root *os.Root // every file operation goes through it
	opts Options
	lock *os.File

	mu        sync.Mutex
	segs      []segment // oldest first; the last is the active one
	active    *os.File  // open for append, nil until the first Append
	next      uint64    // position the next Append gets
	firstOpen uint64    // first unacknowledged position
	total     int64     // bytes in all segments
	dirty     bool      // written since the last fsync
	hint      replayHint
	closed    bool

	stopSync chan struct{}
	syncDone chan struct{}
}

// replayHint remembers where the last Replay stopped so the next one does
// not scan the segment from its start again.
type replayHint struct {
	pos   uint64 // position of the record at off
	first uint64 // segment it lies in
	off   int64
}

// Open opens (creating if needed) the WAL in dir, cutting a torn tail.
func Open(dir string, opts *Options) (*WAL, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	return openRoot(root, dir, o)
}

// OpenIn opens (creating if needed) the WAL in the directory name inside
// parent. The directory is reached through parent, so neither name nor a
// link in its place leads outside parent. The WAL does not keep parent.
func OpenIn(parent *os.Root, name string, opts *Options) (*WAL, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := parent.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("wal: %w", err)
	}
	root, err := parent.OpenRoot(name)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	return openRoot(root, filepath.Join(parent.Name(), name), o)
}

// openRoot recovers the WAL in root, which it takes over; dir names it in
// errors.
func openRoot(root *os.Root, dir string, o Options) (*WAL, error) {
	lock, err := lockDir(root, dir)
	if err != nil {
		root.Close()
		return nil, err
	}
	w := &WAL{dir: dir, root: root, opts: o, lock: lock}
	if err := w.recover(); err != nil {
		lock.Close()
		root.Close()
		return nil, err
	}
	if o.Sync == SyncInterval {
		w.stopSync, w.syncDone = make(chan struct{}), make(chan struct{})
		go w.syncLoop()
	}
	return w, nil
}

func (o *Options) withDefaults() (Options, error) {
	var r Options
	if o != nil {
		r = *o
	}
	switch {
	case r.SegmentBytes < 0:
		return r, fmt.Errorf("wal: SegmentBytes %d is negative", r.SegmentBytes)
	case r.Sync < SyncAlways || r.Sync > SyncNever:
		return r, fmt.Errorf("wal: unknown Sync policy %d", r.Sync)
	case r.SyncInterval < 0:
		return r, fmt.Errorf("wal: SyncInterval %v is negative", r.SyncInterval)
	}
	if r.MaxBytes == 0 {
		r.MaxBytes = 1 << 30
	}
	if r.SegmentBytes == 0 {
		// Space comes back a whole segment at a time, so acknowledged
		// records sit in the active segment until it is sealed and they
		// still count against the cap. A segment of an eighth of the cap
		// bounds that dead weight to an eighth, whatever the cap.
		r.SegmentBytes = 8 << 20
		if r.MaxBytes > 0 {
			r.SegmentBytes = min(r.SegmentBytes, max(r.MaxBytes/8, minSegmentBytes))
		}
	}
	if r.SyncInterval == 0 {
		r.SyncInterval = 200 * time.Millisecond
	}
	return r, nil
}

// minSegmentBytes keeps a derived segment size above a header and a small
// record, so that tiny caps do not make a file per few bytes.
const minSegmentBytes = 64

func segmentName(first uint64) string { return fmt.Sprintf("%020d.seg", first) }

// recover lists the segments, reads the ack file, cuts a torn tail and drops
// segments that are wholly acknowledged.
func (w *WAL) recover() error {
	entries, err := fs.ReadDir(w.root.FS(), ".")
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".seg") {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 10, 64)
		if err != nil {
			return fmt.Errorf("%w: unexpected file %s", ErrCorrupt, name)
		}
		info, err := e.Info()
		if err != nil {
			return fmt.Errorf("wal: %w", err)
		}
		w.segs = append(w.segs, segment{first: first, name: name, size: info.Size()})
	}
	sort.Slice(w.segs, func(i, j int) bool { return w.segs[i].first < w.segs[j].first })

	w.firstOpen = readAck(w.root)
	if len(w.segs) == 0 {
		w.next = w.firstOpen
		return nil
	}
	last := &w.segs[len(w.segs)-1]
	count, err := cutTornTail(w.root, last)
	if err != nil {
		return err
	}
	w.next = last.first + count
	for i := range w.segs[:len(w.segs)-1] {
		if err := checkHeader(w.root, w.segs[i]); errors.Is(err, ErrCorrupt) {
			w.segs[i].badHeader = err
		} else if err != nil {
			return err
		}
	}
	// An ack file older than the segments (lost on a crash) or newer than
	// the records (a cut tail) is brought back inside what exists.
	w.firstOpen = min(max(w.firstOpen, w.segs[0].first), w.next)
	for _, s := range w.segs {
		w.total += s.size
	}
	return w.reclaim()
}

func checkHeader(root *os.Root, s segment) error {
	f, err := root.Open(s.name)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	defer f.Close()
	hdr := make([]byte, segHeaderSize)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return fmt.Errorf("%w: %s: header: %v", ErrCorrupt, s.name, err)
	}
	if first, err := decodeSegmentHeader(hdr); err != nil || first != s.first {
		return fmt.Errorf("%w: %s: header does not match its name", ErrCorrupt, s.name)
	}
	return nil
}

// Append writes data as the next record and returns its position once it
// is durable under the sync policy.
func (w *WAL) Append(data []byte) (uint64, error) {
	if len(data) > MaxRecordBytes {
		return 0, fmt.Errorf("%w: %d bytes, over the %d limit", ErrTooLarge, len(data), MaxRecordBytes)
	}
	rec := appendRecord(make([]byte, 0, recHeaderSize+len(data)), data)

	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, ErrClosed
	}
	if w.opts.MaxBytes > 0 && int64(len(rec))+segHeaderSize > w.opts.MaxBytes {
		return 0, fmt.Errorf("%w: %w: %d bytes with its headers, cap %d", ErrFull, ErrTooLarge, len(rec), w.opts.MaxBytes)
	}
	if w.opts.MaxBytes > 0 && w.total+int64(len(rec))+segHeaderSize > w.opts.MaxBytes {
		return 0, fmt.Errorf("%w: %d bytes held, cap %d", ErrFull, w.total, w.opts.MaxBytes)
	}
	if err := w.ensureActive(); err != nil {
		return 0, err
	}
	seg := &w.segs[len(w.segs)-1]
	if n, err := w.active.Write(rec); err != nil {
		// Leave no partial record behind for the next Append to follow.
		if n > 0 {
			_ = w.active.Truncate(seg.size)
		}
		return 0, fmt.Errorf("wal: append: %w", err)
	}
	seg.size += int64(len(rec))
	w.total += int64(len(rec))
	pos := w.next
	w.next++
	w.dirty = true
	if w.opts.Sync == SyncAlways {
		if err := w.active.Sync(); err != nil {
			return 0, fmt.Errorf("wal: fsync: %w", err)
		}
		w.dirty = false
	}
	return pos, nil
}

// ensureActive makes sure there is an open segment with room: it reopens
// the newest segment after Open, and seals a full one for a new one.
func (w *WAL) ensureActive() error {
	n := len(w.segs)
	if n > 0 && w.segs[n-1].size < w.opts.SegmentBytes && !w.segs[n-1].sealed {
		if w.active != nil {
			return nil
		}
		f, err := w.root.OpenFile(w.segs[n-1].name, os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("wal: %w", err)
		}
		w.active = f
		return nil
	}
	if w.active != nil {
		if err := w.active.Sync(); err != nil {
			return fmt.Errorf("wal: fsync: %w", err)
		}
		if err := w.active.Close(); err != nil {
			return fmt.Errorf("wal: %w", err)
		}
		w.active = nil
	}
	s := segment{first: w.next, name: segmentName(w.next), size: segHeaderSize}
	f, err := w.root.OpenFile(s.name, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	if _, err = f.Write(encodeSegmentHeader(s.first)); err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		w.root.Remove(s.name)
		return fmt.Errorf("wal: new segment: %w", err)
	}
	syncDir(w.root)
	w.active = f
	w.segs = append(w.segs, s)
	w.total += segHeaderSize
	return nil
}

// Ack acknowledges every record up to and including pos. Segments holding
// only acknowledged records are deleted.
func (w *WAL) Ack(pos uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if pos >= w.next {
		return fmt.Errorf("wal: ack of position %d, but the last record is %d", pos, int64(w.next)-1)
	}
	if pos < w.firstOpen {
		return nil
	}
	w.firstOpen = pos + 1
	if err := writeAck(w.root, w.firstOpen, w.opts.Sync == SyncAlways); err != nil {
		return err
	}
	return w.reclaim()
}

// reclaim deletes the segments whose records are all acknowledged. When
// everything is, the active segment goes too and the next Append starts a
// fresh one.
func (w *WAL) reclaim() error {
	for len(w.segs) > 0 {
		s := w.segs[0]
		end := w.next
		if len(w.segs) > 1 {
			end = w.segs[1].first
		}
		if end > w.firstOpen {
			break
		}
		if len(w.segs) == 1 && w.active != nil {
			if err := w.active.Close(); err != nil {
				return fmt.Errorf("wal: %w", err)
			}
			w.active = nil
		}
		if err := w.root.Remove(s.name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("wal: %w", err)
		}
		w.total -= s.size
		w.segs = w.segs[1:]
	}
	return nil
}

// Len returns the number of unacknowledged records.
func (w *WAL) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return int(w.next - w.firstOpen)
}

// Size returns the bytes the segments take on disk.
func (w *WAL) Size() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.total
}

// Sync forces an fsync of the active segment.
func (w *WAL) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.syncLocked()
}

func (w *WAL) syncLocked() error {
	if w.active == nil || !w.dirty {
		return nil
	}
	if err := w.active.Sync(); err != nil {
		return fmt.Errorf("wal: fsync: %w", err)
	}
	w.dirty = false
	return nil
}

func (w *WAL) syncLoop() {
	defer close(w.syncDone)
	t := time.NewTicker(w.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-w.stopSync:
			return
		case <-t.C:
			_ = w.Sync()
		}
	}
}

// Close syncs and closes the WAL. It is idempotent.
func (w *WAL) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	err := w.syncLocked()
	if w.active != nil {
		err = errors.Join(err, w.active.Close())
		w.active = nil
	}
	w.mu.Unlock()
	if w.stopSync != nil {
		close(w.stopSync)
		<-w.syncDone
	}
	return errors.Join(err, w.lock.Close(), w.root.Close())
}

// syncDir makes a created file's directory entry durable. Where a
// directory cannot be synced (Windows) the error is ignored: there the
// file system does not need it.
func syncDir(root *os.Root) {
	if d, err := root.Open("."); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
