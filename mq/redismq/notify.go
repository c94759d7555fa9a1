package redismq

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/redisx"
)

// Group notices. A member publishes one on the group's channel when it
// joins, when it gives partitions up and when it leaves; every member
// listens, and a notice from another member runs its coordinator's next
// round at once. So a hand-over takes a few round trips and the handlers
// running on the moved partitions, not heartbeats and read blocks: the
// old owner learns of the newcomer now, and the newcomer of the released
// lease. Pub/Sub may drop a notice (a listener reconnecting): the
// heartbeat still catches every change, later. Nothing depends on a
// notice for correctness; leases and fencing are as before.

// noticeChannel is the Pub/Sub channel of group's notices on topic.
func noticeChannel(topic, group string) string {
	return "mq:" + redisx.HashTag(topic) + ":notices:" + group
}

// poke wakes the coordinator (or the join) for a round now: another
// member's notice arrived, or a partition being given up may be drained.
func (r *receiver) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// listen subscribes to the group's notices and starts the goroutine that
// pokes the coordinator for each notice of another member. The
// subscription is confirmed before listen returns, so that no notice sent
// after the member's first round is missed. A server that refuses the
// subscription (an ACL without the channel) costs only speed: the member
// goes without notices, and a warning says so.
func (r *receiver) listen(ctx context.Context) error {
	ps := r.c.rdb.Subscribe(ctx, r.notices)
	// go-redis gives the confirmation's read no deadline and does not
	// watch ctx: bound it, or a server that hangs would hang Subscribe.
	wait := subscribeWait
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, max(time.Until(d), time.Millisecond))
	}
	if _, err := ps.ReceiveTimeout(ctx, wait); err != nil {
		ps.Close()
		var rerr redis.Error
		if errors.As(err, &rerr) {
			r.log.Warn("redismq: cannot subscribe to the group's notices; hand-overs wait for heartbeats", "channel", r.notices, "err", err)
			return nil
		}
		return mapErr("subscribe to group notices", err)
	}
	r.ps = ps
	r.wg.Go(func() {
		bo := newPause(r.ctx)
		for {
			msg, err := ps.Receive(context.Background()) // ends when Close closes ps
			switch {
			case r.ctx.Err() != nil:
				return
			case err != nil:
				bo.wait(r, "receive group notices", err) // ps reconnects and subscribes again
				continue
			}
			bo.reset()
			if m, ok := msg.(*redis.Message); ok && m.Payload != r.name {
				r.poke()
			}
		}
	})
	return nil
}

// subscribeWait bounds the wait for the notice channel's subscription to
// be confirmed.
const subscribeWait = 10 * time.Second

// notify tells the other members that this one joined, gave partitions
// up or left. A notice that fails to go out only slows them down.
func (r *receiver) notify(ctx context.Context) {
	if err := r.c.rdb.Publish(ctx, r.notices, r.name).Err(); err != nil && ctx.Err() == nil {
		r.log.Debug("redismq: group notice not sent", "err", err)
	}
}
