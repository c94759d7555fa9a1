package logship

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

const indexerScope = "github.com/groundwork-go/groundwork/logship"

// indexerCounter is one outcome's running total, read by OpenTelemetry at
// collection time (the hot path only bumps atomics).
type indexerCounter struct {
	n   atomic.Int64
	opt metric.ObserveOption
}

func (c *indexerCounter) add(n int) { c.n.Add(int64(n)) }

// indexerTelemetry holds an Indexer's counters.
type indexerTelemetry struct {
	reg metric.Registration

	indexed, retried, deadLettered, handedBack indexerCounter
	bulkOK, bulkFailed                         indexerCounter
	bulkNanos                                  atomic.Int64
}

func newIndexerTelemetry(mp metric.MeterProvider, topic string) *indexerTelemetry {
	t := &indexerTelemetry{}
	set := func(c *indexerCounter, outcome string) {
		c.opt = metric.WithAttributeSet(attribute.NewSet(attribute.String("logship.topic", topic), attribute.String("outcome", outcome)))
	}
	set(&t.indexed, "indexed")
	set(&t.retried, "retried")
	set(&t.deadLettered, "dead_letter")
	set(&t.handedBack, "handed_back")
	set(&t.bulkOK, "ok")
	set(&t.bulkFailed, "error")
	topicOpt := metric.WithAttributeSet(attribute.NewSet(attribute.String("logship.topic", topic)))

	meter := mp.Meter(indexerScope)
	docs, _ := meter.Int64ObservableCounter("logship.indexer.documents", metric.WithDescription("Documents the Indexer handled, by outcome: indexed, retried (one retry each), dead_letter, handed_back (to mq, for redelivery)."))
	bulks, _ := meter.Int64ObservableCounter("logship.indexer.bulk.requests", metric.WithDescription("Bulk requests sent, by outcome (error: the request failed as a whole)."))
	seconds, _ := meter.Float64ObservableCounter("logship.indexer.bulk.duration", metric.WithUnit("s"), metric.WithDescription("Total time spent in bulk requests; divided by logship.indexer.bulk.requests, the mean latency."))
	t.reg, _ = meter.RegisterCallback(func(_ context.Context, ob metric.Observer) error {
		for _, c := range []*indexerCounter{&t.indexed, &t.retried, &t.deadLettered, &t.handedBack} {
			ob.ObserveInt64(docs, c.n.Load(), c.opt)
		}
		for _, c := range []*indexerCounter{&t.bulkOK, &t.bulkFailed} {
			ob.ObserveInt64(bulks, c.n.Load(), c.opt)
		}
		ob.ObserveFloat64(seconds, time.Duration(t.bulkNanos.Load()).Seconds(), topicOpt)
		return nil
	}, docs, bulks, seconds)
	return t
}

func (t *indexerTelemetry) close() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}
