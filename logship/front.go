package logship

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// frontState is what the Handlers and Writers of one Shipper share: the
// event-id generator and the counters the engine's telemetry reads.
type frontState struct {
	once sync.Once
	// node and next seed the event ids (see appendEventID).
	node uint32
	next atomic.Uint64

	sampled atomic.Int64 // records a Sampling dropped
	split   atomic.Int64 // Writer lines cut at maxLineBytes
}

// sampledAway reports how many records the Handlers' Sampling has
// dropped so far (front_telemetry.go exports it as a metric).
func (s *Shipper) sampledAway() int64 { return s.front.sampled.Load() }

func (f *frontState) init() {
	f.once.Do(func() {
		var seed [12]byte
		// crypto/rand.Read never fails on the supported platforms (it
		// panics inside the runtime if it could); once per Shipper.
		_, _ = rand.Read(seed[:])
		f.node = binary.LittleEndian.Uint32(seed[:4])
		f.next.Store(binary.LittleEndian.Uint64(seed[4:]))
	})
}

// appendEventID writes a new UUIDv7 (RFC 9562) to b, without allocating.
//
// Layout: 48 bits of Unix milliseconds, the version, 12 + 30 bits of a
// per-Shipper counter, the variant, 32 bits of per-Shipper random "node".
// crypto/rand per record would cost more than the whole record, so the
// randomness is drawn once per Shipper: the node (32 bits) and the
// counter's starting point (42 bits kept) come from crypto/rand when the
// first record is encoded. Two ids of one Shipper differ in the counter
// (it wraps after 2^42 ≈ 4·10^12 records). Two Shippers — in one process,
// in two processes, or one before and one after a restart — collide only
// if, in the same millisecond, they drew the same 32-bit node AND their
// counters, started at independent random points of a 2^42 cycle, reach
// the same value: for two Shippers each writing a million records per
// millisecond the chance is about 2^-32 · 2·10^6/2^42 per millisecond
// they share, i.e. negligible; and a duplicated id costs at worst one
// record overwritten in a store keyed by it, never corruption.
func (f *frontState) appendEventID(b []byte, now time.Time) []byte {
	f.init()
	c := f.next.Add(1) & (1<<42 - 1)
	ms := uint64(now.UnixMilli())
	var u [16]byte
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	hi := c >> 30 // 12 bits
	u[6] = 0x70 | byte(hi>>8)
	u[7] = byte(hi)
	lo := (c&(1<<30-1))<<32 | uint64(f.node) // 62 bits
	u[8] = 0x80 | byte(lo>>56)&0x3f
	u[9], u[10], u[11], u[12], u[13], u[14], u[15] = byte(lo>>48), byte(lo>>40), byte(lo>>32), byte(lo>>24), byte(lo>>16), byte(lo>>8), byte(lo)
	// The text is built in place, dashes at fixed positions: one append.
	const hexd = "0123456789abcdef"
	var t [eventIDLen]byte
	j := 0
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			t[j] = '-'
			j++
		}
		t[j], t[j+1] = hexd[x>>4], hexd[x&0xf]
		j += 2
	}
	return append(b, t[:]...)
}

// eventIDLen is the length of an event id's text.
const eventIDLen = 36

// frontBuf is one record's scratch space, pooled: the handler itself
// allocates nothing per record.
type frontBuf struct {
	b      []byte
	idAt   int      // where in b the event id is (the Record's ID is a view)
	keys   []string // keys written: the record level's, then the open groups'
	lvl    int      // where in keys the innermost open group's keys start
	depth  int      // attribute groups open (see maxGroupDepth)
	tmp    []byte   // scratch: numbers for the card check, stacks
	ctx    context.Context
	errv   error       // first error-valued attribute: becomes error.*
	rec    slog.Record // the record, when pseudonymisation looks for subjects
	hasRec bool
}

const maxPooledBuf = 64 << 10

var frontPool = sync.Pool{New: func() any {
	return &frontBuf{b: make([]byte, 0, 1024), keys: make([]string, 0, 16)}
}}

func getFrontBuf(ctx context.Context) *frontBuf {
	fb := frontPool.Get().(*frontBuf)
	fb.ctx = ctx
	return fb
}

func putFrontBuf(fb *frontBuf) {
	if cap(fb.b) > maxPooledBuf || cap(fb.tmp) > maxPooledBuf {
		return // one huge record must not pin its buffer for ever
	}
	fb.b, fb.tmp = fb.b[:0], fb.tmp[:0]
	// keys is truncated, not cleared: the names are attribute keys,
	// nearly always literals, and what a stale one pins is no more than
	// a pooled buffer does anyway until the next use or the GC after
	// next (sync.Pool keeps nothing longer); clearing cost a write
	// barrier per key while the GC ran.
	fb.keys = fb.keys[:0]
	fb.ctx, fb.errv, fb.lvl, fb.depth = nil, nil, 0, 0
	if fb.hasRec { // a Record is large: cleared only when it was set
		fb.rec, fb.hasRec = slog.Record{}, false
	}
	frontPool.Put(fb)
}
