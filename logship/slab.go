package logship

import (
	"sync/atomic"
	"unsafe"
)

// slabChunkSize is the size of the chunks submit copies records into:
// about a hundred typical records (~300 B) a chunk, so the copy costs an
// allocation per hundred records rather than one each, and the GC sees
// one object where it would see a hundred. It is also what one record
// kept alive can cost (see slab).
const slabChunkSize = 32 << 10

// slabMaxRecord is the largest copy carved out of a chunk; a larger one
// gets an allocation of its own, so that no record wastes more than a
// quarter of a chunk's end and a huge record pins nothing but itself.
const slabMaxRecord = slabChunkSize / 4

// slab hands out the memory for submit's copies: pieces of a shared
// chunk claimed with an atomic bump of its offset (no lock; the logging
// goroutines share it), a new chunk when the current one is full.
//
// A chunk is never reused or written again after a piece is handed out,
// so a Record's JSON is as immutable as with an allocation of its own
// (the Sink contract: a Sink may keep it). The GC collects a chunk once
// no Record views it. The price: a chunk stays alive as long as any one
// record in it does. The queue copies a record only once it has admitted
// it, under its lock (queue.push), so the chunks hold queued records one
// after the other in queue order, and the engine holds records in that
// order — the queue, then the batch being delivered and its retries:
// what it holds pins its own bytes plus the chunks at the two ends of
// each. A Sink keeping one record in a hundred for long, though, keeps
// every chunk alive: slabChunkSize bytes per record kept, in the worst
// case. The bump is atomic all the same, so the slab is safe on its own.
type slab struct {
	cur atomic.Pointer[slabChunk]
}

// slabChunk is one allocation, offset and bytes together (no pointers:
// the GC never scans it), exactly slabChunkSize long.
type slabChunk struct {
	off atomic.Int64            // bytes of buf handed out (or claimed past its end)
	buf [slabChunkSize - 8]byte // pieces are handed out from the front
}

// alloc returns n bytes no one else holds, of capacity exactly n.
func (s *slab) alloc(n int) []byte {
	if n > slabMaxRecord {
		return make([]byte, n)
	}
	for {
		c := s.cur.Load()
		if c != nil {
			if end := c.off.Add(int64(n)); end <= int64(len(c.buf)) {
				return c.buf[end-int64(n) : end : end]
			}
		}
		// Full (or none yet): put a new chunk in place of c and take the
		// first piece of it. A caller losing the race drops its new chunk
		// and claims from the winner's; the few bytes of c's end that no
		// piece fitted stay unused.
		nc := new(slabChunk)
		nc.off.Store(int64(n))
		if s.cur.CompareAndSwap(c, nc) {
			return nc.buf[:n:n]
		}
	}
}

// copyRecord copies r's borrowed bytes, ID and JSON together, into one
// piece of the slab of exactly their size. ID becomes a string view of
// the copy: nothing writes the copy after this, so the view is as
// immutable as any string. When the ID is in the JSON at idAt (checked,
// not trusted), the JSON alone is copied and the ID is a view of its copy.
func (s *slab) copyRecord(r Record, idAt int) Record {
	if idAt >= 0 && len(r.ID) > 0 && idAt <= len(r.JSON)-len(r.ID) && string(r.JSON[idAt:idAt+len(r.ID)]) == r.ID {
		buf := s.alloc(len(r.JSON))
		copy(buf, r.JSON)
		r.ID = unsafe.String(&buf[idAt], len(r.ID))
		r.JSON = buf
		return r
	}
	buf := s.alloc(len(r.ID) + len(r.JSON))
	n := copy(buf, r.ID)
	copy(buf[n:], r.JSON)
	if n > 0 {
		r.ID = unsafe.String(&buf[0], n)
	}
	r.JSON = buf[n:len(buf):len(buf)]
	return r
}
