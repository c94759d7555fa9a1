package kafkamq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// Subscribe makes a group member: a kgo client of its own in the group,
// cooperative-sticky, committing by hand. It returns once the member has
// joined.
func (c *conn) Subscribe(ctx context.Context, topic, group string) (driver.Receiver, error) {
	if c.isClosed() {
		return nil, mq.ErrClosed
	}
	start := time.Now()
	if !c.opts.NoCreateTopics {
		if err := c.ensureTopic(ctx, topic); err != nil {
			return nil, err
		}
	}
	if err := c.positionNewGroup(ctx, topic, group, start); err != nil {
		return nil, err
	}
	r := newReceiver(topic, c.opts.CommitInterval)
	opts := append(c.cl.Opts(),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		// Only reached for a partition the group has no offset for
		// (positionNewGroup lost a race, or the partition is new).
		kgo.ConsumeResetOffset(kgo.NewOffset().AfterMilli(start.UnixMilli())),
		kgo.OnPartitionsAssigned(r.assigned),
		kgo.OnPartitionsRevoked(r.revoked),
		kgo.OnPartitionsLost(r.lost),
	)
	opts = append(opts, c.opts.GroupOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("member client: %w", err)
	}
	r.cl = cl
	// kgo joins the group in the background; the member is live once its
	// first assignment (possibly empty, under cooperative balancing)
	// arrived.
	select {
	case <-r.joined:
	case <-ctx.Done():
		cl.Close()
		return nil, ctx.Err()
	}
	go r.commitLoop()
	return r, nil
}

// ensureTopic creates topic if it does not exist.
func (c *conn) ensureTopic(ctx context.Context, topic string) error {
	_, err := c.adm.CreateTopic(ctx, c.opts.Partitions, -1, nil, topic)
	if err == nil || errors.Is(err, kerr.TopicAlreadyExists) {
		return nil
	}
	return mapErr(fmt.Errorf("create topic %q: %w", topic, err))
}

// positionNewGroup gives a group that has no offsets on topic the offsets
// of the first records at or after start, so that the group gets
// everything published after Subscribe returned even if its members join
// late, without replaying history. If another member commits first (the
// group then has members), this is a no-op.
func (c *conn) positionNewGroup(ctx context.Context, topic, group string, start time.Time) error {
	committed, err := c.adm.FetchOffsets(ctx, group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		err = nil // a group never seen: position it
	}
	if err != nil {
		return mapErr(fmt.Errorf("fetch offsets of group %q: %w", group, err))
	}
	for _, p := range committed[topic] {
		if p.Err == nil && p.At >= 0 {
			return nil // the group exists on this topic
		}
	}
	after, err := c.adm.ListOffsetsAfterMilli(ctx, start.UnixMilli(), topic)
	if err != nil {
		return mapErr(fmt.Errorf("list offsets of %q: %w", topic, err))
	}
	ends, err := c.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return mapErr(fmt.Errorf("list end offsets of %q: %w", topic, err))
	}
	var set kadm.Offsets
	for _, ps := range ends {
		for p, end := range ps {
			if end.Err != nil {
				return mapErr(fmt.Errorf("end offset of %s/%d: %w", topic, p, end.Err))
			}
			at := end.Offset
			if a, ok := after.Lookup(topic, p); ok && a.Err == nil && a.Offset >= 0 {
				at = a.Offset
			}
			set.Add(kadm.Offset{Topic: topic, Partition: p, At: at, LeaderEpoch: -1})
		}
	}
	resp, err := c.adm.CommitOffsets(ctx, group, set)
	if err == nil {
		err = resp.Error()
	}
	if err != nil && !errors.Is(err, kerr.UnknownMemberID) && !errors.Is(err, kerr.IllegalGeneration) &&
		!errors.Is(err, kerr.RebalanceInProgress) {
		return mapErr(fmt.Errorf("position group %q: %w", group, err))
	}
	return nil
}
