package redismq

import (
	"context"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Partition ownership. Every member renews its entry in the group's member
// set and, each heartbeat, computes the same assignment from the sorted
// list of live members (assign: rendezvous hashing with fair shares, so a
// join or leave moves few partitions). It owns a partition only while it
// holds the partition's lease, a key with the member's name and a
// VisibilityTimeout expiry. A partition it no longer wants is drained
// first: its reader stops, mq hands back the entries fetched and not
// started (Nack: pending, claimable at once, not counted as an attempt),
// the handlers running finish and are acknowledged, and only then is the
// lease given up, so the next owner starts after them and per-key order
// holds. A member that loses a lease it still had (the key taken, or not
// renewed by HeartbeatInterval before it could expire) stops reading at
// once and has mq cancel the handlers running on the partition. A member that dies keeps
// its leases until they expire; the next owner then claims what it left
// pending once that has been idle for VisibilityTimeout.

// coordinate runs rounds until the receiver closes: every
// HeartbeatInterval, four times as often while a hand-over is under way,
// and after a failure with a backoff. No wait and no round outlasts the
// fence of a lease this member holds: the moment, HeartbeatInterval before
// the lease can expire on the server, when the member gives the partition
// up unless it renewed it (expireLeases). So a member cut off from Redis
// has cancelled its handlers on a partition before another member can own
// it.
func (r *receiver) coordinate(settled bool) {
	defer r.wg.Done()
	bo := newPause(r.ctx)
	var failed error
	for {
		wait := r.c.o.HeartbeatInterval
		switch {
		case failed != nil:
			wait = bo.next(r, "heartbeat", failed)
		case !settled:
			wait = r.handOverPoll()
		}
		fence, fenced := r.nextFence()
		if fenced {
			wait = min(wait, time.Until(fence))
		}
		wake := r.wake
		if failed != nil {
			wake = nil // Redis is failing: keep to the backoff
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-r.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-wake:
			t.Stop()
		}
		ctx, cancel := r.ctx, context.CancelFunc(func() {})
		if fence, fenced = r.nextFence(); fenced {
			ctx, cancel = context.WithDeadline(r.ctx, fence)
		}
		settled, failed = r.round(ctx)
		cancel()
		if failed != nil {
			r.expireLeases()
			continue
		}
		bo.reset()
	}
}

// fenceAt is when this member gives p up unless it renewed the lease.
func (r *receiver) fenceAt(p *partition) time.Time {
	return p.lastRenew.Add(r.c.o.VisibilityTimeout - r.c.o.HeartbeatInterval)
}

// nextFence is the earliest fence of the leases this member holds.
func (r *receiver) nextFence() (time.Time, bool) {
	var at time.Time
	for _, p := range r.parts {
		if p.owned && (at.IsZero() || r.fenceAt(p).Before(at)) {
			at = r.fenceAt(p)
		}
	}
	return at, !at.IsZero()
}

// handOverPoll is how often rounds run while a hand-over is under way.
func (r *receiver) handOverPoll() time.Duration {
	return max(r.c.o.HeartbeatInterval/4, 10*time.Millisecond)
}

// round renews membership and leases, gives up drained partitions and
// takes free ones this member wants. It reports whether the member owns
// exactly what it wants.
func (r *receiver) round(ctx context.Context) (settled bool, err error) {
	ttl := r.c.o.VisibilityTimeout.Milliseconds()
	members, err := heartbeatScript.Run(ctx, r.c.rdb, []string{r.members}, r.name, ttl, "join").StringSlice()
	if err != nil {
		return false, mapErr("heartbeat", err)
	}
	if !r.joined {
		r.joined = true
		r.notify(ctx) // the members that must give partitions up start now
	}
	released := false
	defer func() {
		if released {
			r.notify(ctx) // the members waiting for them take them now
		}
	}()
	slices.Sort(members)
	me := slices.Index(members, r.name)
	owner := r.assignment(members)
	wants := func(p *partition) bool { return me >= 0 && owner[p.num] == me }

	if err := r.renew(ctx); err != nil {
		return false, err
	}
	settled = true
	for _, p := range r.parts {
		switch {
		case p.owned && !wants(p):
			settled = false
			if !p.draining {
				p.draining = true
				r.revokeAsync(p, false)
			}
			if !r.drained(p) {
				continue
			}
			if err := r.flushAcks(ctx, p); err != nil {
				return false, err
			}
			if err := releaseScript.Run(ctx, r.c.rdb, []string{p.lease}, r.name).Err(); err != nil {
				return false, mapErr("release lease", err)
			}
			p.owned, p.draining, released = false, false, true
		case p.owned && p.draining:
			// Wanted again before the drain finished (the member that
			// was to take it left): read again once drained, claiming
			// what was handed back.
			settled = false
			if r.drained(p) {
				p.draining = false
				r.startReader(p)
			}
		case !p.owned && wants(p):
			// Not before what this member fetched under an earlier lease
			// is settled, or it would be claimed and delivered twice.
			if !r.drained(p) {
				settled = false
				continue
			}
			asked := time.Now() // the lease runs from no earlier than this
			got, err := leaseScript.Run(ctx, r.c.rdb, []string{p.lease}, r.name, ttl).Int()
			if err != nil {
				return false, mapErr("take lease", err)
			}
			if got == 0 {
				settled = false // its owner is draining it, or dead
				continue
			}
			p.owned, p.lastRenew = true, asked
			r.startReader(p)
		}
	}
	return settled, nil
}

// renew extends the leases this member holds, in one pipeline; a lease
// found taken is lost: its reader stops at once.
func (r *receiver) renew(ctx context.Context) error {
	pipe := r.c.rdb.Pipeline()
	cmds := map[*partition]*redis.Cmd{}
	for _, p := range r.parts {
		if p.owned {
			cmds[p] = pipe.Eval(ctx, leaseLua, []string{p.lease}, r.name, r.c.o.VisibilityTimeout.Milliseconds())
		}
	}
	if len(cmds) == 0 {
		return nil
	}
	now := time.Now()
	if _, err := pipe.Exec(ctx); err != nil {
		return mapErr("renew leases", err)
	}
	for p, cmd := range cmds {
		if n, _ := cmd.Int(); n == 1 {
			p.lastRenew = now
			continue
		}
		r.log.Warn("redismq: partition lease lost to another member", "stream", p.stream)
		r.loseLease(p)
	}
	return nil
}

// expireLeases gives up the partitions whose fence passed while Redis
// could not be reached: their leases expire soon, and another member may
// own them then.
func (r *receiver) expireLeases() {
	for _, p := range r.parts {
		if p.owned && !time.Now().Before(r.fenceAt(p)) {
			r.log.Warn("redismq: partition lease expired unrenewed", "stream", p.stream)
			r.loseLease(p)
		}
	}
}

// drained reports whether p's reader has exited and everything it fetched
// is acked or nacked.
func (r *receiver) drained(p *partition) bool {
	if p.readDone != nil {
		select {
		case <-p.readDone:
		default:
			return false
		}
	}
	return p.inflight.Load() == 0
}

func (r *receiver) startReader(p *partition) {
	p.revoked.Store(false) // drained: nothing fetched under the old lease is left
	var ctx context.Context
	ctx, p.stopRead = context.WithCancel(r.ctx)
	p.readDone = make(chan struct{})
	p.blk = newBlockingReader(r.c.rdb, &r.c.ctl, p.stream)
	p.lastSeen = "" // every entry pending for this member is claimed first
	go r.read(ctx, p)
}

// loseLease stops p's reader and has mq hand back what it holds of p and
// cancel the handlers running on it: another member may own p now.
func (r *receiver) loseLease(p *partition) {
	p.owned, p.draining = false, false
	r.revokeAsync(p, true)
}

// assignment returns assign(members, partitions), computed again only when
// the member list changed. Only the coordinator calls it.
func (r *receiver) assignment(members []string) []int {
	if !slices.Equal(members, r.lastMembers) {
		r.lastMembers = slices.Clone(members)
		r.lastOwner = assign(members, len(r.parts))
	}
	return r.lastOwner
}
