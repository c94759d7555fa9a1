package greyroute

import "sync/atomic"

// Done once per Pick. An Instance is a value the caller copies, so a
// second Done of the same pick can only be told apart by state the
// endpoint keeps: each pick takes a slot holding its sequence number, and
// Done ends the pick only if it can swap that number out (CAS). A second
// Done finds the slot empty, or holding a later pick's number, and does
// nothing. No allocation: the slots are a fixed array in the endpoint.
//
// doneSlots bounds the calls tracked at once on one instance; a pick that
// finds every slot taken (doneSlots calls in flight on one instance) is
// untracked, and a second Done of it counts twice, as before. The
// connection count never goes below zero either way. A pick looks at
// every slot, starting at its own number's, not at a few only: a run of
// long calls in consecutive slots must not leave picks untracked while
// most slots are free.
const doneSlots = 64

// doneTracker holds the sequence numbers of an endpoint's picks whose
// Done has not come yet.
type doneTracker struct {
	seq   atomic.Uint64 // last sequence number handed out; 0 is "free"
	slots [doneSlots]atomic.Uint64
}

// track registers a pick: its sequence number and slot+1, or slot 0 when
// no free slot was found (untracked).
func (d *doneTracker) track() (seq uint64, slot uint32) {
	seq = d.seq.Add(1)
	for i := range uint64(doneSlots) {
		j := (seq + i) % doneSlots
		if d.slots[j].Load() == 0 && d.slots[j].CompareAndSwap(0, seq) {
			return seq, uint32(j) + 1
		}
	}
	return seq, 0
}

// end reports whether this Done is the first for the pick (seq, slot): an
// untracked pick always is.
func (d *doneTracker) end(seq uint64, slot uint32) bool {
	if slot == 0 || slot > doneSlots {
		return true
	}
	return d.slots[slot-1].CompareAndSwap(seq, 0)
}
