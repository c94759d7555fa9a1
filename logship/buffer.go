package logship

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/groundwork-go/groundwork/internal/wal"
)

// diskBuffer is WithBuffer's crash-safe queue: every record is appended to
// a WAL before submit returns and acknowledged once the sink took it (or
// it was dead-lettered or given up), oldest first. What cannot be read
// back — damaged on disk, or written by a version that encoded it
// differently — goes, as bytes with the reason, to a quarantine WAL in
// dir/quarantine, and is acknowledged: the poison-record lesson of mq's
// outage buffer, one bad record never stalls the ones behind it.
type diskBuffer struct {
	dir  string
	root *os.Root
	w    *wal.WAL
	q    *wal.WAL // the quarantine

	// pendingN and pending approximate the records and bytes appended and
	// not yet acknowledged: they only decide when submit wakes the
	// Shipper's goroutine (which counts on the WAL itself), so an error
	// costs a wake-up, never a record.
	pendingN, pending atomic.Int64

	flush *flushState // told each appended position, for Flush
}

// quarantineName is the quarantine's directory inside the buffer's.
const quarantineName = "quarantine"

func openDiskBuffer(dir string, o *wal.Options) (*diskBuffer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("logship: buffer: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("logship: buffer: %w", err)
	}
	w, err := wal.OpenIn(root, ".", o)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("logship: buffer %s: %w", dir, err)
	}
	// No cap on the quarantine: when it cannot take an entry the record
	// stays in the buffer, and is tried again.
	q, err := wal.OpenIn(root, quarantineName, &wal.Options{MaxBytes: -1, Sync: wal.SyncAlways})
	if err != nil {
		w.Close()
		root.Close()
		return nil, fmt.Errorf("logship: buffer quarantine: %w", err)
	}
	b := &diskBuffer{dir: dir, root: root, w: w, q: q}
	b.pendingN.Store(int64(w.Len()))
	b.pending.Store(w.Size())
	return b, nil
}

func (b *diskBuffer) close() error {
	return errors.Join(b.w.Close(), b.q.Close(), b.root.Close())
}

// encodeBufs recycles the encoding buffer of append, so that a buffered
// submit costs no allocation of its own (the WAL makes one).
var encodeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// A buffered record is
//
//	version 1 | uvarint len(ID) | ID | uvarint len(Service) | Service |
//	varint Unix seconds | uvarint nanoseconds | varint Level | JSON
const recordVersion = 1

func appendBuffered(dst []byte, r Record) []byte {
	dst = append(dst, recordVersion)
	dst = binary.AppendUvarint(dst, uint64(len(r.ID)))
	dst = append(dst, r.ID...)
	dst = binary.AppendUvarint(dst, uint64(len(r.Service)))
	dst = append(dst, r.Service...)
	dst = binary.AppendVarint(dst, r.Time.Unix())
	dst = binary.AppendUvarint(dst, uint64(r.Time.Nanosecond()))
	dst = binary.AppendVarint(dst, int64(r.Level))
	return append(dst, r.JSON...)
}

var errShortRecord = errors.New("record cut short")

// decodeBuffered reads a record written by appendBuffered. The strings
// and JSON of the result are views of data, which the caller hands over
// and never changes.
func decodeBuffered(data []byte) (Record, error) {
	var r Record
	if len(data) == 0 || data[0] != recordVersion {
		return r, fmt.Errorf("unknown buffered record version (first byte of %d)", len(data))
	}
	p := data[1:]
	str := func() (string, error) {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return "", errShortRecord
		}
		s := p[k : k+int(n)]
		p = p[k+int(n):]
		if len(s) == 0 {
			return "", nil
		}
		return unsafe.String(&s[0], len(s)), nil
	}
	var err error
	if r.ID, err = str(); err != nil {
		return r, fmt.Errorf("event id: %w", err)
	}
	if r.Service, err = str(); err != nil {
		return r, fmt.Errorf("service: %w", err)
	}
	sec, k := binary.Varint(p)
	if k <= 0 {
		return r, fmt.Errorf("time: %w", errShortRecord)
	}
	p = p[k:]
	nsec, k := binary.Uvarint(p)
	if k <= 0 || nsec >= 1e9 {
		return r, fmt.Errorf("time: bad nanoseconds")
	}
	p = p[k:]
	lvl, k := binary.Varint(p)
	if k <= 0 || lvl != int64(int(lvl)) {
		return r, fmt.Errorf("level: %w", errShortRecord)
	}
	p = p[k:]
	r.Time = time.Unix(sec, int64(nsec)).UTC()
	r.Level = slog.Level(lvl)
	r.JSON = p[:len(p):len(p)]
	return r, nil
}

// append writes r to the buffer; it returns once the record is in the WAL
// (and fsynced, under SyncAlways), with the records and bytes pending.
func (b *diskBuffer) append(r Record) (int64, int64, error) {
	bp := encodeBufs.Get().(*[]byte)
	buf := appendBuffered((*bp)[:0], r)
	pos, err := b.w.Append(buf)
	if cap(buf) <= 64<<10 { // keep no huge buffer alive in the pool
		*bp = buf
		encodeBufs.Put(bp)
	}
	if err != nil {
		return 0, 0, err
	}
	if b.flush != nil {
		b.flush.appended(pos)
	}
	return b.pendingN.Add(1), b.pending.Add(int64(len(buf))), nil
}

// badRecord is a buffered record that does not decode.
type badRecord struct {
	pos  uint64
	data []byte
	err  error
}

// next reads up to maxN records, up to maxBytes (at least one), from the
// oldest unacknowledged one into dst, with the position of the last. A
// record that does not decode is returned alone as bad, and damage the WAL
// reports (a *wal.DamageError) as the error, once the records before
// either were read — and so delivered — first.
func (b *diskBuffer) next(dst []Record, maxN, maxBytes int) (recs []Record, last uint64, size int64, bad *badRecord, err error) {
	bytes := 0
	err = b.w.Replay(func(pos uint64, data []byte) error {
		r, err := decodeBuffered(data)
		if err != nil {
			if len(dst) == 0 {
				bad = &badRecord{pos: pos, data: data, err: err}
			}
			return wal.ErrStop
		}
		dst = append(dst, r)
		last, size = pos, size+int64(len(data))
		bytes += recordSize(r)
		if len(dst) >= maxN || bytes >= maxBytes {
			return wal.ErrStop
		}
		return nil
	})
	if errors.Is(err, wal.ErrCorrupt) && len(dst) > 0 {
		err = nil // deliver what comes before the damage first
	}
	return dst, last, size, bad, err
}

// ack gives up the records up to last, which are settled: n records of
// size bytes.
func (b *diskBuffer) ack(last uint64, n, size int64) error {
	if err := b.w.Ack(last); err != nil {
		return fmt.Errorf("logship: buffer: %w", err)
	}
	if b.pendingN.Add(-n) < 0 {
		b.pendingN.Store(0)
	}
	if b.pending.Add(-size) < 0 {
		b.pending.Store(0)
	}
	return nil
}

// quarantineRecord keeps the bytes of a record that does not decode in
// the quarantine, then acknowledges it.
func (b *diskBuffer) quarantineRecord(r *badRecord) error {
	reason := fmt.Sprintf("buffered record %d does not decode: %v", r.pos, r.err)
	if err := b.quarantine(reason, r.data); err != nil {
		return err
	}
	return b.ack(r.pos, 1, int64(len(r.data)))
}

// quarantineDamage keeps the bytes of a damaged part of the buffer in the
// quarantine and gives up the records in it: they cannot be read, and the
// records behind them must not wait for ever. It returns how many records
// were given up.
func (b *diskBuffer) quarantineDamage(d *wal.DamageError) (uint64, error) {
	raw, last, err := b.w.Damaged(d)
	if err != nil {
		return 0, fmt.Errorf("logship: buffer: %w", err)
	}
	reason := fmt.Sprintf("buffer damaged: %v; records %d to %d given up", d, d.First, last)
	if err := b.quarantine(reason, raw); err != nil {
		return 0, err
	}
	n := last - d.First + 1
	if err := b.ack(last, int64(n), int64(len(raw))); err != nil {
		return 0, err
	}
	return n, nil
}

// quarantine appends (fsynced) an entry: uvarint len(reason) | reason | raw.
// A crash after it and before the ack leaves the record in both places,
// never in neither.
func (b *diskBuffer) quarantine(reason string, raw []byte) error {
	e := binary.AppendUvarint(make([]byte, 0, len(reason)+len(raw)+4), uint64(len(reason)))
	e = append(append(e, reason...), raw...)
	if len(e) > wal.MaxRecordBytes {
		e = e[:wal.MaxRecordBytes] // the reason and the start of the bytes are what helps
	}
	if _, err := b.q.Append(e); err != nil {
		return fmt.Errorf("logship: buffer quarantine: %w", err)
	}
	if testHookQuarantined != nil {
		testHookQuarantined()
	}
	return nil
}

// quarantinePath is where the quarantine lies, for logs.
func (b *diskBuffer) quarantinePath() string { return filepath.Join(b.dir, quarantineName) }

// testHookQuarantined, set by tests only, runs once an entry is durably in
// the quarantine and before the buffer acknowledges it.
var testHookQuarantined func()

// QuarantinedRecord is an entry of a disk buffer's quarantine: the bytes
// of buffered records that could not be read back, and why.
type QuarantinedRecord struct {
	// Reason says why the bytes were set aside (the damage found, or the
	// decoding error).
	Reason string
	// Raw is the bytes as they were on disk (only their start when the
	// damaged part was longer than one buffer record can be).
	Raw []byte
}

// ReadQuarantine lists the quarantine of the disk buffer in dir (see
// WithBuffer), oldest first, for an operator to look at. It must not run
// while a Shipper has the buffer open: the buffer's directory is locked.
func ReadQuarantine(dir string) ([]QuarantinedRecord, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("logship: quarantine: %w", err)
	}
	defer root.Close()
	if _, err := root.Stat(quarantineName); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	q, err := wal.OpenIn(root, quarantineName, &wal.Options{MaxBytes: -1})
	if err != nil {
		return nil, fmt.Errorf("logship: quarantine: %w", err)
	}
	defer q.Close()
	var out []QuarantinedRecord
	err = q.Replay(func(_ uint64, data []byte) error {
		n, k := binary.Uvarint(data)
		if k <= 0 || n > uint64(len(data)-k) {
			out = append(out, QuarantinedRecord{Reason: "quarantine entry does not decode", Raw: data})
			return nil
		}
		out = append(out, QuarantinedRecord{Reason: string(data[k : k+int(n)]), Raw: data[k+int(n):]})
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("logship: quarantine: %w", err)
	}
	return out, nil
}
