package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// Replay calls fn with every unacknowledged record, oldest first, as of
// the moment Replay starts (records appended meanwhile wait for the next
// call). data is fn's to keep. If fn returns ErrStop, Replay stops and
// returns nil; any other error stops it and is returned. Replay does not
// acknowledge anything: call Ack once the records are safely elsewhere.
func (w *WAL) Replay(fn func(pos uint64, data []byte) error) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	segs := append([]segment(nil), w.segs...)
	from, end, hint := w.firstOpen, w.next, w.hint
	w.mu.Unlock()

	for i, s := range segs {
		segEnd := end
		if i+1 < len(segs) {
			segEnd = segs[i+1].first
		}
		if segEnd <= from {
			continue
		}
		stopAt, err := w.replaySegment(s, from, segEnd, hint, fn)
		if stopAt != nil {
			w.mu.Lock()
			w.hint = *stopAt
			w.mu.Unlock()
		}
		if errors.Is(err, ErrStop) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// replaySegment visits records [from, end) of s. It returns where the
// record after the last visited one starts, for the next Replay.
func (w *WAL) replaySegment(s segment, from, end uint64, hint replayHint, fn func(uint64, []byte) error) (*replayHint, error) {
	f, err := w.root.Open(s.name)
	if err != nil {
		return nil, fmt.Errorf("wal: replay: %w", err)
	}
	defer f.Close()
	if s.badHeader != nil {
		return nil, &DamageError{Segment: s.name, First: max(from, s.first), Last: end - 1, Cause: s.badHeader}
	}
	pos, off := s.first, int64(segHeaderSize)
	if hint.first == s.first && hint.pos > pos && hint.pos <= from {
		pos, off = hint.pos, hint.off
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, fmt.Errorf("wal: replay: %w", err)
	}
	r := bufio.NewReaderSize(f, 64<<10)
	var visited *replayHint
	for ; pos < end; pos++ {
		data, err := readRecord(r, nil)
		if errors.Is(err, errTorn) || err == io.EOF {
			// Records below end were acknowledged appends (or were cut
			// already on Open): failing to read one, or finding the
			// file ends before them, is damage.
			return visited, &DamageError{Segment: s.name, Offset: off, First: pos, Last: end - 1, Cause: err}
		}
		if err != nil {
			return visited, fmt.Errorf("wal: replay: %w", err)
		}
		off += int64(recHeaderSize + len(data))
		if pos < from {
			continue
		}
		visited = &replayHint{pos: pos + 1, first: s.first, off: off}
		if err := fn(pos, data); err != nil {
			return visited, err
		}
	}
	return visited, nil
}

// cutTornTail scans the newest segment, truncates it at the first record
// that is short or fails its checksum, and returns how many good records
// it holds. A segment whose header never made it to disk is removed.
func cutTornTail(root *os.Root, s *segment) (uint64, error) {
	f, err := root.OpenFile(s.name, os.O_RDWR, 0)
	if err != nil {
		return 0, fmt.Errorf("wal: %w", err)
	}
	defer f.Close()
	hdr := make([]byte, segHeaderSize)
	if n, _ := io.ReadFull(f, hdr); n < segHeaderSize {
		// Creation was cut short: the header is written and synced before
		// any record, so no record can be in this file.
		if err := f.Truncate(0); err != nil {
			return 0, fmt.Errorf("wal: %w", err)
		}
		return 0, rewriteHeader(f, s)
	}
	if first, err := decodeSegmentHeader(hdr); err != nil || first != s.first {
		// Damage, not a torn write (the header is synced before any
		// record): cut nothing, append no more to it, and let Replay
		// report it whole. It keeps the positions of the records still
		// readable in it, at least one, so that the next segment, named
		// after its first position, does not take its name.
		s.badHeader = fmt.Errorf("%w: %s: header does not match its name", ErrCorrupt, s.name)
		s.sealed = true
		r := bufio.NewReaderSize(f, 64<<10)
		var count uint64
		for {
			if _, err := readRecord(r, nil); err != nil {
				return max(count, 1), nil
			}
			count++
		}
	}
	r := bufio.NewReaderSize(f, 64<<10)
	var count uint64
	off := int64(segHeaderSize)
	buf := make([]byte, 0, 4096)
	for {
		data, err := readRecord(r, buf)
		if err == io.EOF {
			break
		}
		if errors.Is(err, errTorn) {
			if err := f.Truncate(off); err != nil {
				return 0, fmt.Errorf("wal: cut torn tail: %w", err)
			}
			if err := f.Sync(); err != nil {
				return 0, fmt.Errorf("wal: fsync: %w", err)
			}
			break
		}
		if err != nil {
			return 0, fmt.Errorf("wal: %w", err)
		}
		buf = data[:0]
		off += int64(recHeaderSize + len(data))
		count++
	}
	s.size = off
	return count, nil
}

func rewriteHeader(f *os.File, s *segment) error {
	if _, err := f.WriteAt(encodeSegmentHeader(s.first), 0); err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	s.size = segHeaderSize
	return f.Sync()
}

// The ack file holds the first unacknowledged position and its checksum.
const ackFile = "ACK"

func readAck(root *os.Root) uint64 {
	b, err := root.ReadFile(ackFile)
	if err != nil || len(b) != 12 || crc32.Checksum(b[:8], castagnoli) != binary.LittleEndian.Uint32(b[8:]) {
		// No ack (or a damaged one) means replaying from the oldest
		// segment: a redelivery, never a loss.
		return 0
	}
	return binary.LittleEndian.Uint64(b[:8])
}

func writeAck(root *os.Root, firstOpen uint64, sync bool) error {
	b := make([]byte, 12)
	binary.LittleEndian.PutUint64(b, firstOpen)
	binary.LittleEndian.PutUint32(b[8:], crc32.Checksum(b[:8], castagnoli))
	const tmp = ackFile + ".tmp"
	f, err := root.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("wal: ack: %w", err)
	}
	_, err = f.Write(b)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, ackFile)
	}
	if err != nil {
		return fmt.Errorf("wal: ack: %w", err)
	}
	return nil
}
