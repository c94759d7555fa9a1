package wal

import "fmt"

// DamageError is what Replay returns, wrapping ErrCorrupt, when a record
// it must pass cannot be read: the segment is damaged from Offset on, and
// the records from First through Last lie in that part. Replay cannot get
// past it by itself, since a damaged length hides where the next record
// starts; Damaged and Ack give those records up.
type DamageError struct {
	Segment     string // the segment's file name
	Offset      int64  // where the first unreadable record starts
	First, Last uint64 // positions in the damaged part
	Cause       error
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("%v: %s at offset %d (positions %d to %d): %v", ErrCorrupt, e.Segment, e.Offset, e.First, e.Last, e.Cause)
}

// Unwrap makes errors.Is(err, ErrCorrupt) hold.
func (e *DamageError) Unwrap() error { return ErrCorrupt }

// Damaged prepares to give up the records d names, for a caller that
// keeps their bytes elsewhere: it returns the bytes of d's segment from
// d.Offset on and the position of the last record they hold. The caller
// stores them, then calls Ack with that position. When the damaged segment
// is the active one, it is sealed first, so that appends go on in a new
// segment and none lands in the bytes after they were read; every record in
// it then counts as damaged.
func (w *WAL) Damaged(d *DamageError) ([]byte, uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, 0, ErrClosed
	}
	i := 0
	for i < len(w.segs) && w.segs[i].name != d.Segment {
		i++
	}
	if i == len(w.segs) {
		return nil, 0, fmt.Errorf("wal: damaged segment %s is gone", d.Segment)
	}
	last := d.Last
	if i == len(w.segs)-1 {
		if w.active != nil {
			if err := w.active.Close(); err != nil {
				return nil, 0, fmt.Errorf("wal: %w", err)
			}
			w.active = nil
		}
		w.segs[i].sealed = true
		last = w.next - 1
	}
	b, err := w.root.ReadFile(d.Segment)
	if err != nil {
		return nil, 0, fmt.Errorf("wal: read damaged segment: %w", err)
	}
	if d.Offset < 0 || d.Offset > int64(len(b)) {
		return nil, last, nil // cut shorter than the damage: no bytes left
	}
	return b[d.Offset:], last, nil
}
