package rocketmq

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/cenkalti/backoff/v4"
)

// This file hands a queue a rebalance takes from a member that stays over
// to its next owner, as the Java client's
// RebalancePushImpl.removeUnnecessaryMessageQueue does and
// rocketmq-client-go does not (its orderly branch is a TODO): without it
// the queue stays locked at the broker, in the old member's name, until
// the lock lapses (60 s on RocketMQ), and the next owner waits for that.
//
// The client tells its allocation strategy which queues a member gets at
// every rebalance, just before it drops the queues not among them, so the
// receiver wraps the strategy (allocate) and sees the queues given up. For
// each one it then, in this order:
//
//  1. refuses new consume calls of the queue (consume puts their batch
//     back at once): the client may still start one before it drops the
//     queue;
//  2. waits until the consume call in progress on the queue, if any, has
//     returned, which is when mq has settled its whole batch (or Close
//     put it back), renewing the queue's lock meanwhile as the client
//     did (keepLocked): however long the batch takes, the next owner
//     cannot start on the queue alongside it;
//  3. commits the queue's offset past the last wholly acknowledged batch
//     (the client does not commit a batch that returns after the drop);
//  4. unlocks the queue at the broker (UNLOCK_BATCH_MQ in the member's
//     name).
//
// So a queue's next owner can lock it only once this member has stopped
// handing its messages to mq and has none unsettled, and starts after the
// last message this member acknowledged.
//
// What is left to chance costs time, never order: the client's lock
// renewal (lockAll), running in the microseconds between allocate's
// return and the client dropping the queue, or a lock retry of the
// dropped queue's consume goroutine, may lock the queue again after the
// unlock; its next owner then waits for the lock to lapse, as before.

// handOverTimeout bounds the requests of one hand-over; one that fails
// leaves the lock to lapse at the broker, as before.
const handOverTimeout = 10 * time.Second

// testHandOverHook, when set (by tests), is called with each queue given
// up as its hand-over starts (released false) and as it goes on to commit
// and unlock the queue (released true).
var testHandOverHook atomic.Pointer[func(q primitive.MessageQueue, released bool)]

// allocate is the push consumer's allocation strategy: the client's
// default, AllocateByAveragely, noting the queues given up since the
// topic's last allocation and starting their hand-over, and, when the
// member only gains queues, waiting a little for them to be unlocked
// (awaitLocks).
func (r *receiver) allocate(group, client string, all []*primitive.MessageQueue, members []string) []*primitive.MessageQueue {
	mine := consumer.AllocateByAveragely(group, client, all, members)
	if len(all) == 0 {
		return mine
	}
	if gained, gaveUp := r.record(group, client, all[0].Topic, mine); len(gained) > 0 && !gaveUp {
		r.awaitLocks(group, client, gained)
	}
	return mine
}

// record notes mine as topic's allocation, starts the hand-over of the
// queues given up, and returns the queues gained and whether any was
// given up.
func (r *receiver) record(group, client, topic string, mine []*primitive.MessageQueue) (gained []primitive.MessageQueue, gaveUp bool) {
	now := make(map[primitive.MessageQueue]bool, len(mine))
	for _, q := range mine {
		now[*q] = true
	}
	// A queue taken back while its hand-over is being sent waits for the
	// unlock to reach the broker: the client locks it again right after
	// allocate returns, and a late unlock would undo that.
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	prev := r.owned[topic]
	r.owned[topic] = now
	for q := range now {
		delete(r.revoked, q)
		if !prev[q] {
			gained = append(gained, q)
		}
	}
	for q := range prev {
		if now[q] || r.closed {
			continue
		}
		gaveUp = true
		r.gen++
		r.revoked[q] = r.gen
		r.handing.Add(1)
		if f := testHandOverHook.Load(); f != nil {
			(*f)(q, false)
		}
		go r.handOver(group, client, q, r.gen)
	}
	return gained, gaveUp
}

// gainWait bounds how long a rebalance waits for the queues it gains to
// be unlocked by their old owner.
const gainWait = 5 * time.Second

// awaitLocks locks qs at their broker for client, retrying with growing
// pauses for up to gainWait (or until Close) while another member holds
// them. The client locks each queue it gains once, right after allocate
// returns, and, failing, tries again only at its next rebalance (20 s
// later): a member gaining queues from one that stays (which hands them
// over in milliseconds when its handlers are quick) would otherwise
// nearly always wait for that rebalance. The lock is the client's own
// (same client id), so its lock right after succeeds. Not done when the
// same rebalance also gives queues up: those stay in the client's table,
// and are renewed by its lock renewal, until allocate returns.
func (r *receiver) awaitLocks(group, client string, qs []primitive.MessageQueue) {
	ctx, cancel := context.WithTimeout(context.Background(), gainWait)
	defer cancel()
	go func() {
		select {
		case <-r.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = 10*time.Millisecond, 500*time.Millisecond, 0
	_ = backoff.Retry(func() error {
		rt, err := queryRoute(ctx, r.nameServers, qs[0].Topic, r.cred)
		if err != nil {
			return backoff.Permanent(err)
		}
		byBroker := map[string][]primitive.MessageQueue{}
		for _, q := range qs {
			byBroker[q.BrokerName] = append(byBroker[q.BrokerName], q)
		}
		var left []primitive.MessageQueue
		for name, bqs := range byBroker {
			addr, ok := rt.masters[name]
			if !ok {
				continue // the client cannot lock it either
			}
			got, err := lockQueues(ctx, addr, group, client, bqs, r.cred)
			if err != nil {
				return backoff.Permanent(err)
			}
			locked := map[primitive.MessageQueue]bool{}
			for _, q := range got {
				locked[q] = true
			}
			for _, q := range bqs {
				if !locked[q] {
					left = append(left, q)
				}
			}
		}
		if qs = left; len(qs) > 0 {
			return errHeld
		}
		return nil
	}, backoff.WithContext(b, ctx))
}

// errHeld: a queue gained is still locked by another member.
var errHeld = errors.New("queue locked by another member")

// handOver carries out the hand-over of q given up at generation gen.
func (r *receiver) handOver(group, client string, q primitive.MessageQueue, gen uint64) {
	defer r.handing.Done()
	stop := r.keepLocked(group, client, q)
	r.mu.Lock()
	for r.busy[q] > 0 {
		r.idle.Wait()
	}
	r.mu.Unlock()
	stop()
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	r.mu.Lock()
	if r.revoked[q] != gen {
		r.mu.Unlock()
		return // taken back by a later rebalance: still ours
	}
	off, acked := r.acked[q]
	// Forgotten now: should the queue come back, what this member
	// acknowledged before is no offset to commit at its next hand-over
	// (other members have consumed it further meanwhile).
	delete(r.acked, q)
	r.mu.Unlock()
	if f := testHandOverHook.Load(); f != nil {
		(*f)(q, true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), handOverTimeout)
	defer cancel()
	if err := r.release(ctx, group, client, q, off, acked); err != nil {
		r.logger.Warn("rocketmq: a queue given up stays locked until the broker lets the lock lapse",
			"queue", q.String(), "group", group, "error", err)
	}
}

// keepLocked renews this member's lock of q every lockRenew until the
// returned func is called (which waits for the renewals to end). The
// client renews only the queues it still has, and drops q as allocate
// returns: without this, a batch of q in hand longer than the broker's
// lock lifetime (60 s) would still be handled here when the next owner,
// finding the lock lapsed, starts on q. A renewal does nothing when
// another member holds the lock already.
func (r *receiver) keepLocked(group, client string, q primitive.MessageQueue) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(r.lockRenew)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			// Not cancelled by stop: the unlock that follows must reach
			// the broker after the renewal, not race it.
			ctx, cancel := context.WithTimeout(context.Background(), handOverTimeout)
			err := r.renew(ctx, group, client, q)
			cancel()
			if err != nil {
				r.logger.Warn("rocketmq: renewing the lock of a queue given up, its batch still in hand",
					"queue", q.String(), "group", group, "error", err)
			}
		}
	}()
	return func() { close(done); <-exited }
}

// renew locks q at its broker for client again.
func (r *receiver) renew(ctx context.Context, group, client string, q primitive.MessageQueue) error {
	rt, err := queryRoute(ctx, r.nameServers, q.Topic, r.cred)
	if err != nil {
		return err
	}
	addr, ok := rt.masters[q.BrokerName]
	if !ok {
		return fmt.Errorf("broker %q has no master in the route of %q", q.BrokerName, q.Topic)
	}
	_, err = lockQueues(ctx, addr, group, client, []primitive.MessageQueue{q}, r.cred)
	return err
}

// release commits q's offset (when a batch of it was acknowledged here)
// and then unlocks q at its broker.
func (r *receiver) release(ctx context.Context, group, client string, q primitive.MessageQueue, off int64, acked bool) error {
	rt, err := queryRoute(ctx, r.nameServers, q.Topic, r.cred)
	if err != nil {
		return err
	}
	addr, ok := rt.masters[q.BrokerName]
	if !ok {
		return fmt.Errorf("broker %q has no master in the route of %q", q.BrokerName, q.Topic)
	}
	if acked {
		if err := commitOffset(ctx, addr, group, q, off, r.cred); err != nil {
			return err // not unlocked: the next owner must not start before this offset
		}
	}
	return unlockQueue(ctx, addr, group, client, q, r.cred)
}
