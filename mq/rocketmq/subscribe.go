package rocketmq

import (
	"context"
	"errors"
	"fmt"
	"time"

	rmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/cenkalti/backoff/v4"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// Subscribe makes a group member: a push consumer of its own, orderly and
// clustering, positioned (for queues the broker has no offset of the group
// for) at the messages stored from a minute before Subscribe began, so
// that nothing published after Subscribe returns is missed however late
// the member gets its queues, even by a broker whose clock is behind.
func (c *conn) Subscribe(ctx context.Context, topic, group string) (driver.Receiver, error) {
	if c.isClosed() {
		return nil, mq.ErrClosed
	}
	// The broker compares the start with its own clock: a minute's
	// margin keeps a broker clock behind this one from skipping messages
	// published after Subscribe returned (the client gets its queues
	// after Start returns, when they may be stored already).
	start := time.Now().Add(-startMargin)
	rtopic, err := c.topicName(topic)
	if err != nil {
		return nil, err
	}
	rgroup, err := c.groupName(group)
	if err != nil {
		return nil, err
	}
	if err := c.ensureTopic(ctx, rtopic); err != nil {
		return nil, err
	}
	r := newReceiver(topic, int(c.opts.SuspendInterval/time.Millisecond))
	o := c.opts
	r.nameServers, r.cred, r.logger, r.lockRenew = c.nameServers, o.Credentials, o.Logger, o.LockInterval
	copts := []consumer.Option{
		consumer.WithNameServer(c.nameServers),
		consumer.WithGroupName(rgroup),
		consumer.WithPullBatchSize(int32(o.PullBatchSize)),
	}
	if o.Namespace != "" {
		copts = append(copts, consumer.WithNamespace(o.Namespace))
	}
	if credentialsSet(o.Credentials) {
		copts = append(copts, consumer.WithCredentials(o.Credentials))
	}
	copts = append(copts, o.ConsumerOptions...)
	copts = append(copts,
		consumer.WithInstance(c.instanceName()),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumerOrder(true),
		consumer.WithAutoCommit(true),
		// Never the broker's retry topic: mq retries and dead-letters.
		consumer.WithMaxReconsumeTimes(-1),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromTimestamp),
		consumer.WithConsumeTimestamp(start.UTC().Format("20060102150405")),
		consumer.WithConsumeMessageBatchMaxSize(o.ConsumeBatchSize),
		consumer.WithRebalanceLockInterval(o.LockInterval),
		consumer.WithSuspendCurrentQueueTimeMillis(o.SuspendInterval),
		// The client's default strategy, wrapped to hand the queues a
		// rebalance moves over to their next owner (handover.go).
		consumer.WithStrategy(r.allocate),
	)
	pc, err := rmq.NewPushConsumer(copts...)
	if err != nil {
		return nil, fmt.Errorf("%w: push consumer: %v", mq.ErrInvalid, err)
	}
	r.pc = pc
	if err := pc.Subscribe(rtopic, consumer.MessageSelector{}, r.consume); err != nil {
		_ = pc.Shutdown()
		return nil, fmt.Errorf("%w: subscribe %q: %v", mq.ErrInvalid, topic, err)
	}
	if err := pc.Start(); err != nil {
		_ = pc.Shutdown()
		return nil, mapErr(fmt.Errorf("start member of group %q: %w", group, err))
	}
	return r, nil
}

// startMargin is how long before Subscribe a new member starts, where the
// broker has no offset of its group (see the package doc).
const startMargin = time.Minute

// ensureTopic makes sure the name servers know topic, creating it (unless
// NoCreateTopics) on every broker that offers auto-creation (has TBW102):
// the client's push consumer does not start on a topic without a route.
func (c *conn) ensureTopic(ctx context.Context, topic string) error {
	if c.opts.Namespace != "" {
		topic = c.opts.Namespace + "%" + topic
	}
	_, err := queryRoute(ctx, c.nameServers, topic, c.opts.Credentials)
	if err == nil {
		return nil
	}
	if !errors.Is(err, errTopicNotExist) {
		return c.unreachable(ctx, err)
	}
	if c.opts.NoCreateTopics {
		return fmt.Errorf("topic %q does not exist (and create_topics is false)", topic)
	}
	tbw, err := queryRoute(ctx, c.nameServers, "TBW102", c.opts.Credentials)
	if errors.Is(err, errTopicNotExist) || (err == nil && len(tbw.masters) == 0) {
		return fmt.Errorf("topic %q does not exist, and no broker allows auto-creation (no route for TBW102) to create it on", topic)
	}
	if err != nil {
		return c.unreachable(ctx, err)
	}
	for _, addr := range tbw.masters {
		if err := createTopic(ctx, addr, topic, c.opts.Queues, c.opts.Credentials); err != nil {
			return c.unreachable(ctx, err)
		}
	}
	// The brokers register the topic with the name servers at once, or at
	// their next registration (every 30 s): poll, more slowly as it takes
	// longer, and give up after topicRouteWait.
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.Multiplier, b.MaxInterval, b.MaxElapsedTime = 20*time.Millisecond, 2, 5*time.Second, topicRouteWait
	err = backoff.Retry(func() error {
		_, err := queryRoute(ctx, c.nameServers, topic, c.opts.Credentials)
		if err != nil && !errors.Is(err, errTopicNotExist) {
			return backoff.Permanent(c.unreachable(ctx, err))
		}
		return err
	}, backoff.WithContext(b, ctx))
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return fmt.Errorf("topic %q created but not yet known to the name servers: %w", topic, ctx.Err())
	case errors.Is(err, errTopicNotExist):
		return fmt.Errorf("%w: topic %q created on the brokers but still unknown to the name servers after %v",
			driver.ErrUnreachable, topic, topicRouteWait)
	}
	return err
}

// topicRouteWait bounds how long Subscribe waits for a topic it created
// to appear in the name servers' routes: well past the brokers' 30 s
// registration interval. A variable for tests.
var topicRouteWait = 3 * time.Minute

// unreachable wraps a failure to talk to the cluster.
func (c *conn) unreachable(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%w: %v", driver.ErrUnreachable, err)
}
