package redismq

import (
	"context"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// recoverUnseen delivers the entries Redis gave this member in a reply
// that never reached it: an XREADGROUP that failed on the wire (the
// connection cut or timed out) after the server had served it. Those
// entries are pending for this member, which would otherwise keep them,
// unhandled, for as long as it owns the partition. They are the entries
// pending for it and newer than any it saw (lastSeen): its reads deliver
// entries in ID order, and its claims take none newer than what the
// group had delivered. False when ctx ended first.
//
// They are claimed with XCLAIM, keeping their count (never started, a
// reply lost is not an attempt), and with the least idle time seen, so
// that an entry another member claimed meanwhile (idle again since) is
// not taken back; fencing keeps that from happening anyway, as this
// reader runs only while the member holds the lease.
func (r *receiver) recoverUnseen(ctx context.Context, p *partition, bo *pause) bool {
	call := context.WithoutCancel(ctx) // see claim
	for ctx.Err() == nil {
		start := "-"
		if p.lastSeen != "" {
			start = "(" + p.lastSeen
		}
		pend, err := r.c.rdb.XPendingExt(call, &redis.XPendingExtArgs{Stream: p.stream, Group: r.group,
			Start: start, End: "+", Count: int64(r.c.o.ReadCount), Consumer: r.name}).Result()
		switch {
		case isNoGroup(err):
			return true // nothing pending: the group is recreated by the read
		case err != nil:
			bo.wait(r, "list unseen entries", err)
			continue
		case len(pend) == 0:
			return true
		}
		bo.reset()
		minIdle := pend[0].Idle
		for _, e := range pend {
			minIdle = min(minIdle, e.Idle)
		}
		msgs, attempts, err := r.claimEntries(call, p, minIdle, pend, nil, true)
		if err != nil {
			bo.wait(r, "claim unseen entries", err)
			continue
		}
		if len(msgs) == 0 {
			// Trimmed, or claimed by another member: none is ours.
			p.lastSeen = pend[len(pend)-1].ID
			continue
		}
		r.log.Warn("redismq: a read's reply was lost; delivering the entries it held", "stream", p.stream, "count", len(msgs))
		if !r.deliver(ctx, p, msgs, attempts) {
			return false
		}
	}
	return false
}

// noRetry is a command that takes entries (XREADGROUP, XCLAIM), which
// go-redis must not send again when its connection fails, as it does
// with MaxRetries (its default on a caller's client): the reply was
// perhaps lost after the server delivered the entries to this member,
// and the command sent again finds nothing (or only what is newer), so
// the member would never learn of them. Failing instead, it has this
// package look for them (recoverUnseen).
type noRetry struct{ redis.Cmder }

func (noRetry) NoRetry() bool { return true }

// readNow runs args's XREADGROUP without BLOCK on rdb, never re-sent.
func readNow(ctx context.Context, rdb redis.UniversalClient, a *redis.XReadGroupArgs) ([]redis.XStream, error) {
	cmd := redis.NewXStreamSliceCmd(ctx, "xreadgroup", "group", a.Group, a.Consumer, "count", a.Count, "streams", a.Streams[0], a.Streams[1])
	cmd.SetFirstKeyPos(7)
	_ = rdb.Process(ctx, noRetry{cmd})
	return cmd.Result()
}

// idAfter reports whether stream entry ID a ("ms-seq") comes after b; any
// ID comes after "".
func idAfter(a, b string) bool {
	if b == "" {
		return a != ""
	}
	am, as := splitID(a)
	bm, bs := splitID(b)
	return am > bm || am == bm && as > bs
}

func splitID(id string) (ms, seq uint64) {
	m, s, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(m, 10, 64)
	seq, _ = strconv.ParseUint(s, 10, 64)
	return ms, seq
}
