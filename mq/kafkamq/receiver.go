package kafkamq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// receiver is one group member. It hands out polled records in partition
// order, tracks which of them are settled, and commits per partition the
// offset after the contiguous run of acknowledged records.
type receiver struct {
	cl             *kgo.Client
	topic          string
	commitInterval time.Duration

	mu      sync.Mutex
	settled *sync.Cond // signalled when a slot is settled or closing begins
	parts   map[int32]*partition
	pending []*kgo.Record // polled, not yet handed out
	closing bool
	touched byte // see touch

	// revoke tells mq which deliveries a rebalance takes away (set once,
	// before the first Receive; a rebalance may come before it is set).
	revoke atomic.Pointer[driver.RevokeFunc]

	joined     chan struct{}
	joinedOnce sync.Once
	stop       chan struct{}
	done       chan struct{}
}

// partition tracks the records handed out from one assigned partition.
type partition struct {
	window    []slot // handed out and not yet committable, by offset
	base      int64  // how many records were handed out before window[0]
	next      int64  // commit point when window is empty: last offset + 1
	committed int64  // last commit point the broker took
	revoking  bool
	revoked   atomic.Bool // set with revoking, read without mu (Revoked)
}

type slotState uint8

const (
	inFlight slotState = iota
	acked
	nacked
)

type slot struct {
	offset int64
	state  slotState
}

// handedOut is a delivery with its handle, allocated together.
type handedOut struct {
	d driver.Delivery
	h handle
}

type handle struct {
	partition int32
	seq       int64      // its slot is part.window[seq-part.base]
	part      *partition // as assigned when handed out
}

var (
	_ driver.Receiver   = (*receiver)(nil)
	_ driver.BatchAcker = (*receiver)(nil)
	_ driver.Revoker    = (*receiver)(nil)
	_ driver.Aser       = (*receiver)(nil)
)

// As implements driver.Aser: a **kgo.Client gets the member's own client
// (the group member), until Close begins.
func (r *receiver) As(target any) bool {
	p, ok := target.(**kgo.Client)
	if !ok || p == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		return false
	}
	*p = r.cl
	return true
}

// SetRevokeFunc implements driver.Revoker.
func (r *receiver) SetRevokeFunc(fn driver.RevokeFunc) { r.revoke.Store(&fn) }

// Revoked implements driver.Revoker.
func (r *receiver) Revoked(d *driver.Delivery) bool {
	h, ok := d.Handle.(*handle)
	return ok && h.part.revoked.Load()
}

// handBack has mq drop the deliveries of ps it has not started and wait
// for (lost: cancel) those running.
func (r *receiver) handBack(ctx context.Context, ps []int32, lost bool) {
	fn := r.revoke.Load()
	if fn == nil || len(ps) == 0 {
		return
	}
	(*fn)(ctx, func(d *driver.Delivery) bool {
		h, ok := d.Handle.(*handle)
		return ok && slices.Contains(ps, h.partition)
	}, lost)
}

func newReceiver(topic string, commitInterval time.Duration) *receiver {
	r := &receiver{topic: topic, commitInterval: commitInterval, parts: map[int32]*partition{},
		joined: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	r.settled = sync.NewCond(&r.mu)
	return r
}

// commitPoint is the offset to commit: the first record not acknowledged.
func (p *partition) commitPoint() int64 {
	for _, s := range p.window {
		if s.state != acked {
			return s.offset
		}
	}
	return p.next
}

// outstanding reports whether records are still being handled.
func (p *partition) outstanding() bool {
	for _, s := range p.window {
		if s.state == inFlight {
			return true
		}
	}
	return false
}

// compact drops the acknowledged prefix of the window.
func (p *partition) compact() {
	i := 0
	for i < len(p.window) && p.window[i].state == acked {
		i++
	}
	// Reslicing, not copying: appends reallocate the live part once the
	// capacity runs out, so this stays O(1) amortized per record.
	p.window = p.window[i:]
	p.base += int64(i)
}

func (r *receiver) assigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	r.mu.Lock()
	for _, p := range assigned[r.topic] {
		if _, ok := r.parts[p]; !ok {
			r.parts[p] = &partition{next: -1, committed: -1}
		}
	}
	r.mu.Unlock()
	r.joinedOnce.Do(func() { close(r.joined) })
}

// revoked stops handing out records of the revoked partitions, has mq
// hand back those it has not started (they stay uncommitted, for the next
// owner) and waits only for the handlers running, then commits and lets
// the partitions go. So a rebalance takes as long as the slowest running
// handler, not the whole prefetch, and stays within the rebalance timeout
// that would otherwise evict this member while it still handles a key the
// next owner starts on.
func (r *receiver) revoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	ps := revoked[r.topic]
	r.mu.Lock()
	for _, p := range ps {
		if part, ok := r.parts[p]; ok {
			part.revoking = true
			part.revoked.Store(true)
		}
	}
	r.dropPending(ps)
	r.mu.Unlock()
	r.handBack(ctx, ps, false)
	r.mu.Lock()
	// What mq had not queued yet when it looked, it hands back as it
	// queues it (Revoked); wait for that too.
	for !r.closing && r.anyOutstanding(ps) && ctx.Err() == nil {
		r.settled.Wait()
	}
	offsets := r.commitOffsetsLocked(ps)
	for _, p := range ps {
		delete(r.parts, p)
	}
	r.mu.Unlock()
	if len(offsets) > 0 {
		commitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		cl.CommitOffsetsSync(commitCtx, offsets, nil)
	}
}

// lost forgets partitions taken away without a chance to commit: mq
// cancels the handlers running on them and hands back the rest, all of
// which the next owner redelivers.
func (r *receiver) lost(ctx context.Context, _ *kgo.Client, lost map[string][]int32) {
	ps := lost[r.topic]
	r.mu.Lock()
	r.dropPending(ps)
	for _, p := range ps {
		if part, ok := r.parts[p]; ok {
			part.revoked.Store(true)
		}
		delete(r.parts, p)
	}
	r.settled.Broadcast()
	r.mu.Unlock()
	r.handBack(ctx, ps, true)
}

func (r *receiver) dropPending(ps []int32) {
	r.pending = slices.DeleteFunc(r.pending, func(rec *kgo.Record) bool { return slices.Contains(ps, rec.Partition) })
}

func (r *receiver) anyOutstanding(ps []int32) bool {
	for _, p := range ps {
		if part, ok := r.parts[p]; ok && part.outstanding() {
			return true
		}
	}
	return false
}

// commitOffsetsLocked returns the commit points of ps (all partitions when
// ps is nil) that moved since the last commit.
func (r *receiver) commitOffsetsLocked(ps []int32) map[string]map[int32]kgo.EpochOffset {
	out := map[int32]kgo.EpochOffset{}
	for p, part := range r.parts {
		if ps != nil && !slices.Contains(ps, p) {
			continue
		}
		if at := part.commitPoint(); at >= 0 && at > part.committed {
			// Epoch -1: no truncation check; the record before the
			// commit point may be older than the newest epoch seen.
			out[p] = kgo.EpochOffset{Epoch: -1, Offset: at}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return map[string]map[int32]kgo.EpochOffset{r.topic: out}
}

func (r *receiver) Receive(ctx context.Context, max int) ([]*driver.Delivery, error) {
	for {
		if out := r.handOut(max); len(out) > 0 {
			return out, nil
		}
		fetches := r.cl.PollRecords(ctx, max)
		if fetches.IsClientClosed() {
			return nil, mq.ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		recs := fetches.Records()
		if len(recs) == 0 {
			if errs := fetches.Errors(); len(errs) > 0 {
				return nil, mapErr(fmt.Errorf("fetch %s/%d: %w", errs[0].Topic, errs[0].Partition, errs[0].Err))
			}
			continue
		}
		r.mu.Lock()
		r.pending = append(r.pending, recs...)
		r.mu.Unlock()
	}
}

// handOut moves up to max pending records of assigned, not revoking,
// partitions into their windows and returns them as deliveries.
func (r *receiver) handOut(max int) []*driver.Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	// One allocation for the batch's deliveries with their handles, one
	// for the pointers, and a few for its strings.
	k := min(max, len(r.pending))
	r.touch(r.pending[:k])
	slab := make([]handedOut, k)
	out := make([]*driver.Delivery, 0, k)
	var strs stringArena
	n := 0
	var part *partition // of the record before, as records come in runs of one partition
	var idPrefix string
	for _, rec := range r.pending {
		n++
		if part == nil || rec.Partition != r.pending[n-2].Partition {
			part, idPrefix = r.parts[rec.Partition], ""
		}
		if part == nil || part.revoking {
			continue // revoked after the poll: the next owner reads it
		}
		part.window = append(part.window, slot{offset: rec.Offset})
		part.next = rec.Offset + 1
		ho := &slab[len(out)]
		ho.h = handle{partition: rec.Partition, seq: part.base + int64(len(part.window)) - 1, part: part}
		if idPrefix == "" && !hasIDHeader(rec) {
			idPrefix = recordIDPrefix(rec)
		}
		fromRecord(rec, &strs, &ho.d.Message, idPrefix)
		ho.d.Attempt, ho.d.Handle = 1, &ho.h
		out = append(out, &ho.d)
		if len(out) == k {
			break
		}
	}
	r.pending = r.pending[n:]
	return out
}

func (r *receiver) settle(d *driver.Delivery, state slotState) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.settleLocked(d, state); err != nil {
		return err
	}
	r.settled.Broadcast()
	return nil
}

// settleLocked marks d's slot; called with mu.
func (r *receiver) settleLocked(d *driver.Delivery, state slotState) error {
	h, ok := d.Handle.(*handle)
	if !ok {
		return fmt.Errorf("kafkamq: delivery %s is not from kafkamq", d.ID)
	}
	if r.parts[h.partition] != h.part {
		return nil // the partition was lost or given up: the next owner redelivers
	}
	h.part.mark(h.seq, state)
	h.part.compact()
	return nil
}

// mark sets the state of the slot of the seq'th record handed out, if it
// is still in the window.
func (p *partition) mark(seq int64, state slotState) {
	if i := seq - p.base; i >= 0 && i < int64(len(p.window)) {
		p.window[i].state = state
	}
}

// AckBatch acknowledges ds under one lock. The deliveries of one run
// usually come from one partition: its assignment is checked and its
// window compacted once per stretch of them.
func (r *receiver) AckBatch(_ context.Context, ds []*driver.Delivery) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	var cur, live *partition // the stretch's partition; live: cur while still ours
	for _, d := range ds {
		h, ok := d.Handle.(*handle)
		if !ok {
			errs = append(errs, fmt.Errorf("kafkamq: delivery %s is not from kafkamq", d.ID))
			continue
		}
		if h.part != cur {
			if live != nil {
				live.compact()
			}
			cur, live = h.part, h.part
			if r.parts[h.partition] != cur {
				live = nil // lost or given up: the next owner redelivers
			}
		}
		if live != nil {
			live.mark(h.seq, acked)
		}
	}
	if live != nil {
		live.compact()
	}
	r.settled.Broadcast()
	return errors.Join(errs...)
}

// Ack marks d handled; its offset is committed once every earlier record
// of its partition is handled too.
func (r *receiver) Ack(_ context.Context, d *driver.Delivery) error { return r.settle(d, acked) }

// Nack leaves d uncommitted: the commit point of its partition stays at
// or before it, so the partition's next owner delivers it again.
func (r *receiver) Nack(_ context.Context, d *driver.Delivery) error { return r.settle(d, nacked) }

// commitLoop commits moved commit points every commitInterval.
func (r *receiver) commitLoop() {
	defer close(r.done)
	t := time.NewTicker(r.commitInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.commit()
		}
	}
}

func (r *receiver) commit() {
	r.mu.Lock()
	offsets := r.commitOffsetsLocked(nil)
	r.mu.Unlock()
	if offsets == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil || resp == nil {
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 {
					continue
				}
				if part, ok := r.parts[p.Partition]; ok {
					part.committed = max(part.committed, offsets[r.topic][p.Partition].Offset)
				}
			}
		}
	})
}

// Close commits what is committable and leaves the group. Records still
// in flight are not waited for: they go to the partitions' next owners.
func (r *receiver) Close() error {
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return nil
	}
	r.closing = true
	r.settled.Broadcast()
	r.mu.Unlock()
	close(r.stop)
	<-r.done
	r.commit()
	r.cl.Close() // leaves the group; revoked commits again, without waiting
	return nil
}

func hasIDHeader(rec *kgo.Record) bool {
	for _, h := range rec.Headers {
		if h.Key == headerID {
			return true
		}
	}
	return false
}

// touch reads each record's partition, offset and key's first byte. A
// consumer that lags finds its records cold, spread over megabytes of
// fetch buffers; read in a loop that does nothing else, the CPU overlaps
// the cache misses on them, where handing out and dispatching (which
// hashes each key) would wait for each in turn. Called with mu.
func (r *receiver) touch(recs []*kgo.Record) {
	var x byte
	for _, rec := range recs {
		x += byte(rec.Partition) + byte(rec.Offset)
		if len(rec.Key) > 0 {
			x += rec.Key[0]
		}
	}
	r.touched = x // so that the reads are not optimized away
}
