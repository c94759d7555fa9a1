package redismq

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/resilience"
)

// receiver is one member of a group: a coordinator goroutine keeps its
// membership and partition leases (lease.go), one reader goroutine per
// owned partition fetches entries, and an acker goroutine sends
// acknowledgements in batches.
type receiver struct {
	c            *conn
	topic, group string
	name         string // consumer name in every partition's group
	members      string // members key
	parts        []*partition

	lastMembers []string // the coordinator's cache of assign
	lastOwner   []int
	joined      bool // the coordinator's: the join notice went out

	notices string        // the group's notice channel (notify.go)
	ps      *redis.PubSub // subscribed to notices; nil without
	wake    chan struct{} // poke: run a round now

	out      chan []*driver.Delivery // batches from readers
	leftover []*driver.Delivery      // the rest of a batch Receive split

	revoke atomic.Pointer[driver.RevokeFunc] // mq's, set before the first Receive

	ctx       context.Context // cancelled by Close: stops every goroutine
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	ackSignal chan struct{}
	flushMu   sync.Mutex // serializes flushAcks
	closeOnce sync.Once
	closeErr  error
	log       *slog.Logger
}

// partition is one partition stream as this member sees it. The ownership
// fields are touched only by the coordinator goroutine.
type partition struct {
	num    int
	stream string
	lease  string

	owned, draining bool
	lastRenew       time.Time
	stopRead        context.CancelFunc
	readDone        chan struct{}   // closed when the reader exits; nil before the first
	blk             *blockingReader // the reader's connection

	lastSeen string // the newest entry the reader delivered; its goroutine's

	inflight atomic.Int64 // fetched and not yet acked or nacked
	revoked  atomic.Bool  // taken from this member: what it fetched goes back
	reclaim  atomic.Bool  // an entry was handed back while owned: claim it again

	mu    sync.Mutex
	acks  []string   // entry IDs acked and not yet sent
	backs []handBack // entries nacked and not yet handed back
}

// handBackIdle is the idle time a handed-back entry is given: past any
// visibility timeout, so that the next owner claims it at once, and far
// beyond any entry really in flight, so that the owner can claim its own
// hand-backs (minIdle = handBackIdle) without taking an entry a handler
// of its is still on.
const handBackIdle = 365 * 24 * time.Hour

// handBack is a nacked entry and the attempt number its next delivery
// carries.
type handBack struct {
	id      string
	attempt int
}

var (
	_ driver.BatchAcker = (*receiver)(nil)
	_ driver.Revoker    = (*receiver)(nil)
)

// SetRevokeFunc implements driver.Revoker.
func (r *receiver) SetRevokeFunc(fn driver.RevokeFunc) { r.revoke.Store(&fn) }

// Revoked implements driver.Revoker.
func (r *receiver) Revoked(d *driver.Delivery) bool {
	h, ok := d.Handle.(*handle)
	return ok && h.p.revoked.Load()
}

// revokeAsync stops p's reader and has mq hand back what it holds of p
// and, when lost, cancel the handlers running on it. The waiting runs
// apart so that the coordinator keeps renewing the other leases
// meanwhile; the coordinator sees it done when p is drained.
func (r *receiver) revokeAsync(p *partition, lost bool) {
	if testHookRevoke != nil {
		testHookRevoke(r.name, p.stream)
	}
	p.revoked.Store(true)
	r.stopReader(p)
	fn := r.revoke.Load()
	if fn == nil {
		return
	}
	r.wg.Go(func() {
		(*fn)(r.ctx, func(d *driver.Delivery) bool {
			h, ok := d.Handle.(*handle)
			return ok && h.p == p
		}, lost)
		r.poke() // p may be drained now
	})
}

// testHookRevoke, when set (by tests only, before Subscribe), runs when a
// member starts giving partition stream up.
var testHookRevoke func(member, stream string)

// stopReader cancels p's reader and ends its blocked read at once, in the
// background: the coordinator sees p drained once the reader is gone.
func (r *receiver) stopReader(p *partition) {
	p.stopRead()
	blk, done := p.blk, p.readDone
	r.wg.Go(func() { blk.interrupt(done) })
}

// handle is a delivery's token for Ack and Nack.
type handle struct {
	p  *partition
	id string // stream entry ID
}

func newReceiver(ctx context.Context, c *conn, topic, group string, k keys) (*receiver, error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	r := &receiver{
		c: c, topic: topic, group: group,
		name:      "m-" + hex.EncodeToString(b[:]),
		members:   membersKey(topic, group),
		out:       make(chan []*driver.Delivery, 4),
		ackSignal: make(chan struct{}, 1),
		wake:      make(chan struct{}, 1),
		notices:   noticeChannel(topic, group),
		log:       c.o.Logger.With("topic", topic, "group", group),
	}
	for i, s := range k.streams {
		r.parts = append(r.parts, &partition{num: i, stream: s, lease: leaseKey(s, group)})
	}
	// The group exists on every partition before Subscribe returns, from
	// the current end of each stream: everything published from now on
	// reaches the group, whichever member ends up owning the partition.
	pipe := c.rdb.Pipeline()
	cmds := make([]*redis.StatusCmd, len(k.streams))
	for i, s := range k.streams {
		cmds[i] = pipe.XGroupCreateMkStream(ctx, s, group, "$")
	}
	_, _ = pipe.Exec(ctx)
	for i, cmd := range cmds {
		if err := cmd.Err(); err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
			return nil, mapErr("create group on "+k.streams[i], err)
		}
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	err := r.listen(ctx)
	var settled bool
	if err == nil {
		settled, err = r.join(ctx)
	}
	if err != nil {
		_ = r.Close() // gives back the leases and membership taken so far
		return nil, err
	}
	r.wg.Add(2)
	go r.coordinate(settled)
	go r.ackLoop()
	return r, nil
}

// join runs rounds until the member owns its share of the partitions, so
// that a member joining a busy group takes its share of what is published
// next. It waits at most VisibilityTimeout (a dead member's leases expire
// by then) or until ctx ends; the coordinator finishes what is left.
func (r *receiver) join(ctx context.Context) (settled bool, err error) {
	deadline := time.Now().Add(r.c.o.VisibilityTimeout)
	for {
		if settled, err = r.round(ctx); err != nil || settled || time.Now().After(deadline) {
			return settled, err
		}
		t := time.NewTimer(r.handOverPoll())
		select {
		case <-t.C:
		case <-r.wake:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return false, ctx.Err()
		}
	}
}

// Receive returns the next deliveries, at most max. It is called from one
// goroutine only (mq's receive loop).
func (r *receiver) Receive(ctx context.Context, max int) ([]*driver.Delivery, error) {
	if len(r.leftover) == 0 {
		select {
		case b := <-r.out:
			r.leftover = b
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-r.ctx.Done():
			return nil, fmt.Errorf("redismq: %w", mq.ErrClosed)
		}
	}
	n := min(max, len(r.leftover))
	b := r.leftover[:n:n]
	r.leftover = r.leftover[n:]
	return b, nil
}

// Ack queues d's acknowledgement for the acker, which sends it within
// AckInterval (sooner when ReadCount of them pile up).
func (r *receiver) Ack(ctx context.Context, d *driver.Delivery) error {
	return r.AckBatch(ctx, []*driver.Delivery{d})
}

// AckBatch queues the acknowledgements of ds, taking each partition's lock
// once per run of deliveries from it.
func (r *receiver) AckBatch(ctx context.Context, ds []*driver.Delivery) error {
	for i := 0; i < len(ds); {
		h, ok := ds[i].Handle.(*handle)
		if !ok {
			return fmt.Errorf("redismq: Ack: delivery not from this provider")
		}
		p, j := h.p, i
		p.mu.Lock()
		for ; j < len(ds); j++ {
			hj, ok := ds[j].Handle.(*handle)
			if !ok || hj.p != p {
				break
			}
			p.acks = append(p.acks, hj.id)
		}
		n := len(p.acks)
		p.mu.Unlock()
		r.freeInflight(p, j-i)
		if n >= r.c.o.ReadCount {
			select {
			case r.ackSignal <- struct{}{}:
			default:
			}
		}
		i = j
	}
	return nil
}

// Nack hands d back: the entry stays pending in the group, with an idle
// time that lets the partition's next owner claim it at once and with its
// delivery count set back to d.Attempt, so the hand-over is not counted as
// an attempt. It is sent with the acknowledgements.
func (r *receiver) Nack(_ context.Context, d *driver.Delivery) error {
	h, ok := d.Handle.(*handle)
	if !ok {
		return fmt.Errorf("redismq: Nack: delivery not from this provider")
	}
	r.handBackFetched(h.p, []*driver.Delivery{d})
	if !h.p.revoked.Load() {
		// Handed back while this member still owns the partition (its
		// dead-lettering failed): its reader claims it again.
		h.p.reclaim.Store(true)
	}
	select {
	case r.ackSignal <- struct{}{}:
	default:
	}
	return nil
}

// handBackFetched queues the hand-back of ds, all fetched from p, and
// frees their place in p's in-flight count.
func (r *receiver) handBackFetched(p *partition, ds []*driver.Delivery) {
	p.mu.Lock()
	for _, d := range ds {
		p.backs = append(p.backs, handBack{id: d.Handle.(*handle).id, attempt: max(d.Attempt, 1)})
	}
	p.mu.Unlock()
	r.freeInflight(p, len(ds))
}

// freeInflight frees n places in p's in-flight count and, when that
// empties a partition being given up, wakes the coordinator to release
// it.
func (r *receiver) freeInflight(p *partition, n int) {
	if p.inflight.Add(-int64(n)) == 0 && p.revoked.Load() {
		r.poke()
	}
}

// Close stops the readers, sends the acknowledgements still queued, gives
// up every lease and leaves the group, so the remaining members take over
// at once. Entries fetched and not acked stay pending for them to claim.
func (r *receiver) Close() error {
	r.closeOnce.Do(func() {
		r.cancel()
		if r.ps != nil {
			_ = r.ps.Close() // ends the listener's Receive
		}
		r.wg.Wait()
		r.stopReaders()
		r.handBackUnreceived()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		errs := []error{r.flushAcks(ctx, nil)}
		// One round trip for every partition: give up the leases held and
		// forget this consumer, which keeps departed members from piling
		// up in XINFO CONSUMERS (one with pending entries stays until
		// they are claimed). Eval, not EVALSHA: a pipeline cannot fall
		// back on NOSCRIPT.
		pipe := r.c.rdb.Pipeline()
		var releases []*redis.Cmd
		for _, p := range r.parts {
			if p.owned {
				releases = append(releases, pipe.Eval(ctx, releaseLua, []string{p.lease}, r.name))
			}
			pipe.Eval(ctx, forgetLua, []string{p.stream}, r.group, r.name)
		}
		_, _ = pipe.Exec(ctx)
		for _, cmd := range releases {
			errs = append(errs, mapErr("release lease", cmd.Err()))
		}
		// Then leave, and say so, so that the others take the partitions
		// over now rather than at their next heartbeat.
		errs = append(errs, mapErr("leave group", heartbeatScript.Run(ctx, r.c.rdb, []string{r.members},
			r.name, r.c.o.VisibilityTimeout.Milliseconds(), "leave").Err()))
		r.notify(ctx)
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

// handBackUnreceived hands back what the readers fetched and mq never
// received (the batches waiting for Receive), so that the next owner
// claims it at once and without counting an attempt. The readers have
// exited: nothing more arrives.
func (r *receiver) handBackUnreceived() {
	batches := [][]*driver.Delivery{r.leftover}
	r.leftover = nil
	for {
		select {
		case b := <-r.out:
			batches = append(batches, b)
			continue
		default:
		}
		break
	}
	for _, b := range batches {
		for len(b) > 0 {
			p := b[0].Handle.(*handle).p
			n := 1
			for n < len(b) && b[n].Handle.(*handle).p == p {
				n++
			}
			r.handBackFetched(p, b[:n])
			b = b[n:]
		}
	}
}

// stopReaders stops every reader, ending their blocked reads, and waits
// for them to exit. The coordinator has exited: nothing starts another.
func (r *receiver) stopReaders() {
	for _, p := range r.parts {
		if p.stopRead != nil {
			r.stopReader(p)
		}
	}
	r.wg.Wait()
}

// ackLoop sends queued acknowledgements every AckInterval, or sooner when
// signalled.
func (r *receiver) ackLoop() {
	defer r.wg.Done()
	t := time.NewTicker(r.c.o.AckInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		case <-r.ackSignal:
		}
		err := r.flushAcks(r.ctx, nil)
		switch {
		case err != nil && !failing && r.ctx.Err() == nil:
			r.log.Warn("redismq: acknowledging failed; retrying", "err", err)
			failing = true
		case err == nil && failing:
			r.log.Info("redismq: acknowledging again")
			failing = false
		}
	}
}

// flushAcks sends the queued acknowledgements and hand-backs of only (or
// of every partition when only is nil) in one pipeline. What fails to send
// is queued again.
func (r *receiver) flushAcks(ctx context.Context, only *partition) error {
	// One flush at a time: a partition's lease is released right after
	// its flush returns, which must not be while the ack loop's flush of
	// the same acknowledgements is still on the wire.
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	type batch struct {
		p     *partition
		ids   []string
		backs []handBack
		ack   *redis.IntCmd
		back  *redis.Cmd
	}
	var batches []batch
	pipe := r.c.rdb.Pipeline()
	idle := handBackIdle.Milliseconds()
	for _, p := range r.parts {
		if only != nil && p != only {
			continue
		}
		p.mu.Lock()
		b := batch{p: p, ids: p.acks, backs: p.backs}
		p.acks, p.backs = nil, nil
		p.mu.Unlock()
		if len(b.ids) > 0 {
			b.ack = pipe.XAck(ctx, p.stream, r.group, b.ids...)
		}
		if len(b.backs) > 0 {
			args := make([]any, 0, 3+2*len(b.backs))
			args = append(args, r.group, r.name, idle)
			for _, hb := range b.backs {
				args = append(args, hb.id, hb.attempt)
			}
			// Eval, not the script's EVALSHA: a pipeline cannot fall back
			// on NOSCRIPT.
			b.back = pipe.Eval(ctx, handBackLua, []string{p.stream}, args...)
		}
		if b.ack != nil || b.back != nil {
			batches = append(batches, b)
		}
	}
	if len(batches) == 0 {
		return nil
	}
	_, err := pipe.Exec(ctx)
	for _, b := range batches {
		failedAck := b.ack != nil && b.ack.Err() != nil
		failedBack := b.back != nil && b.back.Err() != nil
		if failedAck || failedBack {
			b.p.mu.Lock()
			if failedAck {
				b.p.acks = append(b.ids, b.p.acks...)
			}
			if failedBack {
				b.p.backs = append(b.backs, b.p.backs...)
			}
			b.p.mu.Unlock()
		}
	}
	return mapErr("ack", err)
}

// read fetches p's entries for this member until ctx ends: first those
// pending in the group (left by an earlier owner, or by this member before
// it lost p), claimed with XCLAIM (see claim), then new ones with XREADGROUP.
//
// Claims are fenced: an entry is claimed only once it has been idle for
// VisibilityTimeout, and nothing is claimed or read before every pending
// entry is, so that a member that lost its lease (and is being told to
// stop through its handlers' context) is not handling an entry while this
// one starts on it or on a later entry of its key. Entries a member handed
// back (Nack) carry that idle time already: a graceful hand-over waits for
// nothing.
func (r *receiver) read(ctx context.Context, p *partition) {
	defer r.poke() // p may be drained now
	defer close(p.readDone)
	bo := newPause(ctx)
	vt := r.c.o.VisibilityTimeout
	for ctx.Err() == nil {
		wait, err := r.youngestPending(ctx, p)
		if err != nil {
			if isNoGroup(err) {
				break
			}
			bo.wait(r, "list pending entries", err)
			continue
		}
		bo.reset()
		if wait <= 0 {
			break
		}
		t := time.NewTimer(min(wait, r.handOverPoll()))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	if !r.claim(ctx, p, bo, vt, true) {
		return
	}
	args := &redis.XReadGroupArgs{Group: r.group, Consumer: r.name, Streams: []string{p.stream, ">"},
		Count: int64(r.c.o.ReadCount), Block: r.c.o.Block}
	var lastReclaim time.Time
	call := context.WithoutCancel(ctx) // see claim
	cutOff := false                    // a read failed on the wire: its reply may have held entries
	for ctx.Err() == nil {
		if cutOff {
			if !r.recoverUnseen(ctx, p, bo) {
				return
			}
			cutOff = false
		}
		if p.reclaim.Load() && time.Since(lastReclaim) >= r.c.o.HeartbeatInterval {
			// At most once a heartbeat, so that a message the group keeps
			// handing back does not spin.
			p.reclaim.Store(false)
			lastReclaim = time.Now()
			if err := r.flushAcks(ctx, p); err != nil {
				p.reclaim.Store(true)
			} else if !r.claim(ctx, p, bo, handBackIdle, false) {
				return
			}
		}
		res, err := p.blk.read(call, args)
		switch {
		case errors.Is(err, redis.Nil):
			continue
		case isNoGroup(err):
			// The stream or group is gone (deleted, or the server lost
			// its data): everything now in the stream is new to us.
			r.log.Warn("redismq: consumer group missing; recreating it from the stream's start", "stream", p.stream)
			p.lastSeen = "" // the new group's entries may be older
			err = r.c.rdb.XGroupCreateMkStream(ctx, p.stream, r.group, "0").Err()
			if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
				bo.wait(r, "recreate group", err)
			}
			continue
		case err != nil:
			var rerr redis.Error
			cutOff = !errors.As(err, &rerr) // not an answer from Redis
			bo.wait(r, "read", err)
			continue
		}
		bo.reset()
		if len(res) == 1 && len(res[0].Messages) > 0 && !r.deliver(ctx, p, res[0].Messages, nil) {
			return
		}
	}
}

// claim delivers the entries pending in p's group that have been idle for
// minIdle, oldest first, and with prune removes the consumers left empty;
// false when ctx ended first.
//
// Each entry is claimed with XCLAIM and an explicit delivery count, so
// that attempts count handler runs: an entry handed back (its idle time
// is handBackIdle or more) keeps its count, which is its attempt number;
// an entry orphaned by a member that died gets one more, since that
// member may have started it. Its attempt is its count before the claim:
// the first death is not counted (the member may never have started it),
// later ones are.
func (r *receiver) claim(ctx context.Context, p *partition, bo *pause, minIdle time.Duration, prune bool) bool {
	// The calls that take entries run to their end even when the reader
	// is stopped (they are bounded by the client's timeouts): cancelled
	// mid-way, Redis may have handed entries to this member that it never
	// sees, which would then wait out the fence and count as an attempt.
	call := context.WithoutCancel(ctx)
	for start := "-"; ctx.Err() == nil; {
		pend, err := r.c.rdb.XPendingExt(call, &redis.XPendingExtArgs{Stream: p.stream, Group: r.group,
			Idle: minIdle, Start: start, End: "+", Count: int64(r.c.o.ReadCount)}).Result()
		if err != nil {
			if isNoGroup(err) {
				return true // nothing pending; XREADGROUP recreates the group
			}
			bo.wait(r, "list pending entries", err)
			continue
		}
		bo.reset()
		if len(pend) == 0 {
			break
		}
		start = "(" + pend[len(pend)-1].ID
		msgs, attempts, err := r.claimEntries(call, p, minIdle, pend, nil, false)
		for err != nil && ctx.Err() == nil {
			bo.wait(r, "claim", err)
			// The reply may have been lost after Redis acted: the entries
			// claimed are this member's now, idle for almost no time, and
			// minIdle would miss them (stranded until the partition moves,
			// then counted an attempt more). They are claimed again for
			// the idle time they have now, with the counts of the first
			// try: attempts count runs, not claims.
			var ours map[string]time.Duration
			if ours, err = r.pendingForMe(call, p, pend); err == nil {
				msgs, attempts, err = r.claimEntries(call, p, minIdle, pend, ours, false)
			}
		}
		if err != nil {
			return false // stopped while Redis fails; the next owner claims them
		}
		if trimmed := len(pend) - len(msgs); trimmed > 0 {
			// Redis drops a pending entry the stream no longer has when
			// it is claimed.
			r.log.Warn("redismq: pending entries were trimmed from the stream before they were handled",
				"stream", p.stream, "count", trimmed)
		}
		if len(msgs) > 0 && !r.deliver(ctx, p, msgs, attempts) { // hands them back if stopped
			return false
		}
	}
	if ctx.Err() != nil {
		return false
	}
	if prune {
		// Everything is claimed: the consumers that held it are empty now
		// and go, so departed members do not pile up.
		if err := pruneScript.Run(ctx, r.c.rdb, []string{p.stream}, r.group, r.name).Err(); err != nil && ctx.Err() == nil {
			r.log.Debug("redismq: pruning departed consumers failed", "stream", p.stream, "err", err)
		}
	}
	return true
}

// claimEntries claims pend for this member in one pipeline, in order, and
// returns the entries still in the stream with their attempt numbers.
// An entry is claimed if idle for minIdle or, when in ours (this member's
// already: see pendingForMe), for the idle time ours gives. Claiming an
// entry again is harmless: its count is set, not incremented.
//
// With unseen, pend are entries delivered to this member in a reply it
// never got (recoverUnseen): never started, they keep their count.
func (r *receiver) claimEntries(ctx context.Context, p *partition, minIdle time.Duration, pend []redis.XPendingExt, ours map[string]time.Duration, unseen bool) ([]redis.XMessage, map[string]int, error) {
	pipe := r.c.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(pend))
	attempts := make(map[string]int, len(pend))
	for i, e := range pend {
		count := e.RetryCount
		if e.Idle < handBackIdle && !unseen {
			count++ // orphaned: its holder may have started it
		}
		attempts[e.ID] = max(int(e.RetryCount), 1)
		idle, mine := ours[e.ID]
		if !mine {
			idle = minIdle
		}
		cmds[i] = redis.NewXMessageSliceCmd(ctx, "XCLAIM", p.stream, r.group, r.name, idle.Milliseconds(), e.ID, "RETRYCOUNT", count)
		_ = pipe.Process(ctx, noRetry{cmds[i]}) // see noRetry
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, err
	}
	var msgs []redis.XMessage
	for _, cmd := range cmds {
		ms, _ := cmd.Result()
		for _, m := range ms {
			if m.Values != nil {
				msgs = append(msgs, m)
			}
		}
	}
	return msgs, attempts, nil
}

// pendingForMe returns which entries of pend are pending for this member,
// with their idle times now: after a claim that failed on the wire, those
// it took. Each is looked up alone (XPENDING of one ID for this consumer):
// the member's entries in flight may lie between them and must not be
// claimed again.
func (r *receiver) pendingForMe(ctx context.Context, p *partition, pend []redis.XPendingExt) (map[string]time.Duration, error) {
	pipe := r.c.rdb.Pipeline()
	cmds := make([]*redis.XPendingExtCmd, len(pend))
	for i, e := range pend {
		cmds[i] = pipe.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: p.stream, Group: r.group,
			Start: e.ID, End: e.ID, Count: 1, Consumer: r.name})
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	ours := make(map[string]time.Duration)
	for _, cmd := range cmds {
		for _, e := range cmd.Val() {
			ours[e.ID] = e.Idle
		}
	}
	return ours, nil
}

// youngestPending returns how long until every entry pending in p's group
// has been idle for VisibilityTimeout (0 or less: they all have).
func (r *receiver) youngestPending(ctx context.Context, p *partition) (time.Duration, error) {
	vt := r.c.o.VisibilityTimeout
	var wait time.Duration
	for start := "-"; ; {
		const page = 1000
		pend, err := r.c.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: p.stream, Group: r.group,
			Start: start, End: "+", Count: page}).Result()
		if err != nil {
			return 0, err
		}
		for _, e := range pend {
			wait = max(wait, vt-e.Idle)
		}
		if len(pend) < page {
			return wait, nil
		}
		start = "(" + pend[len(pend)-1].ID
	}
}

func isNoGroup(err error) bool { return redis.HasErrorPrefix(err, "NOGROUP") }

// deliver hands msgs to Receive as one batch; false when ctx ended first
// (the entries stay pending for the partition's next owner).
func (r *receiver) deliver(ctx context.Context, p *partition, msgs []redis.XMessage, attempts map[string]int) bool {
	ds := make([]driver.Delivery, len(msgs))
	hs := make([]handle, len(msgs))
	batch := make([]*driver.Delivery, len(msgs))
	for i := range msgs {
		d := &ds[i]
		r.decode(d, p, &msgs[i])
		d.Attempt = 1
		if attempts != nil {
			d.Attempt = max(attempts[msgs[i].ID], 1) // claimed: see claim
		}
		hs[i] = handle{p: p, id: msgs[i].ID}
		d.Handle = &hs[i]
		batch[i] = d
	}
	p.inflight.Add(int64(len(batch)))
	for i := range msgs {
		if idAfter(msgs[i].ID, p.lastSeen) {
			p.lastSeen = msgs[i].ID
		}
	}
	select {
	case r.out <- batch:
		return true
	case <-ctx.Done():
		// Stopped (revoked, or closing) with the batch fetched: it is
		// pending for this member, so hand it back rather than leave it
		// for the next owner to wait out and count as an attempt.
		r.handBackFetched(p, batch)
		return false
	}
}

// decode fills d from entry x. Fields not written by this package (an
// entry added by another tool) arrive as headers; such an entry's ID is
// "stream/entryID". Entries written before the time field became optional
// have it always, and it wins.
func (r *receiver) decode(d *driver.Delivery, p *partition, x *redis.XMessage) {
	d.Topic = r.topic
	for k, v := range x.Values {
		s, _ := v.(string)
		switch k {
		case fieldID:
			d.ID = s
		case fieldKey:
			d.Key = s
		case fieldTime:
			if ns, err := strconv.ParseInt(s, 10, 64); err == nil {
				d.Time = time.Unix(0, ns)
			}
		case fieldPayload:
			d.Payload = []byte(s)
		default:
			if d.Headers == nil {
				d.Headers = make(map[string]string, len(x.Values))
			}
			d.Headers[strings.TrimPrefix(k, headerPrefix)] = s
		}
	}
	if d.ID == "" {
		d.ID = p.stream + "/" + x.ID
	}
	if d.Time.IsZero() {
		// No time field: the UUIDv7 ID carries the time (timeInID); an
		// entry added by another tool has the entry ID's.
		ms, ok := uuidV7Millis(d.ID)
		if !ok {
			ms, ok = entryMillis(x.ID)
		}
		if ok {
			d.Time = time.UnixMilli(ms)
		}
	}
}

// entryMillis returns the Unix milliseconds of a stream entry ID ("ms-seq").
func entryMillis(id string) (int64, bool) {
	ms, _, _ := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	return n, err == nil
}

// pause backs off between failed calls of one loop and logs the first
// failure of a run.
type pause struct {
	ctx     context.Context
	bo      backoff.BackOff
	failing bool
}

func newPause(ctx context.Context) *pause {
	return &pause{ctx: ctx, bo: retrying.NewLoopBackOff(resilience.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: time.Second})}
}

// next logs the first failure of a run and returns the wait before the
// next try.
func (b *pause) next(r *receiver, op string, err error) time.Duration {
	if !b.failing && b.ctx.Err() == nil {
		r.log.Warn("redismq: "+op+" failed; retrying", "err", err)
		b.failing = true
	}
	return b.bo.NextBackOff()
}

func (b *pause) wait(r *receiver, op string, err error) {
	if b.ctx.Err() != nil {
		return
	}
	t := time.NewTimer(b.next(r, op, err))
	defer t.Stop()
	select {
	case <-t.C:
	case <-b.ctx.Done():
	}
}

func (b *pause) reset() {
	if b.failing {
		b.bo.Reset()
		b.failing = false
	}
}
