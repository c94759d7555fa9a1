package logship

import (
	"context"
	"errors"
	"fmt"

	"github.com/groundwork-go/groundwork/mq"
)

// MQSink returns a Sink that publishes each batch to topic through client,
// in one Publish call, one message per record as RecordFromMessage reads it
// back: the message ID is the event id (so mq's dedup and the Indexer's
// _id see a record published twice as one), the payload the ECS document,
// the routing fields in headers.
//
// Outcomes: a whole Publish that failed for a reason a retry can fix (an
// unreachable broker, an open circuit, a full outage buffer, a context
// ended) is returned as the error, and the Shipper retries the batch. A
// record over the broker's size limit is refused alone: when Publish
// reports mq.ErrTooLarge the Sink publishes the batch's records one by one,
// so that only the oversized ones come back as permanent Failures (the
// others are delivered; one may be delivered twice, carrying its event id,
// when the broker refused a batch it had partly written). Errors no retry
// can fix for any record — a closed client, a nil client or empty topic
// (ErrInvalid) — are returned marked Permanent, so that the batch goes to
// the dead-letter Sink with the reason instead of being retried for ever.
//
// Close does not close client: the caller opened it, may share it, and
// closes it after the Shipper's Shutdown.
func MQSink(client *mq.Client, topic string) Sink {
	return &mqSink{client: client, topic: topic}
}

type mqSink struct {
	client *mq.Client
	topic  string
}

func (s *mqSink) Write(ctx context.Context, batch []Record) (Result, error) {
	if len(batch) == 0 {
		return Result{}, nil
	}
	switch {
	case s.client == nil:
		return Result{}, Permanent(fmt.Errorf("%w: MQSink: nil mq client", ErrInvalid))
	case s.topic == "":
		return Result{}, Permanent(fmt.Errorf("%w: MQSink: empty topic", ErrInvalid))
	}
	msgs := make([]*mq.Message, len(batch))
	for i, r := range batch {
		msgs[i] = messageFor(s.topic, r)
	}
	err := s.client.Publish(ctx, msgs...)
	switch {
	case err == nil:
		return Result{}, nil
	case errors.Is(err, mq.ErrTooLarge) && len(batch) > 1:
		return s.oneByOne(ctx, batch)
	case mqPermanent(err):
		return Result{}, Permanent(fmt.Errorf("logship: MQSink: %w", err))
	}
	return Result{}, err
}

// oneByOne publishes each record of batch alone, to tell which of them
// are too large. A retryable failure ends it: the records not yet tried
// are reported retryable with it, so that a broker that went down is not
// called once per record.
func (s *mqSink) oneByOne(ctx context.Context, batch []Record) (Result, error) {
	var res Result
	for i, r := range batch {
		err := s.client.Publish(ctx, messageFor(s.topic, r))
		switch {
		case err == nil:
			continue
		case mqPermanent(err):
			res.Failures = append(res.Failures, Failure{Index: i, Err: fmt.Errorf("logship: MQSink: record %q: %w", r.ID, err)})
			continue
		}
		for j := i; j < len(batch); j++ {
			res.Failures = append(res.Failures, Failure{Index: j, Err: err, Retryable: true})
		}
		break
	}
	return res, nil
}

// mqPermanent reports the Publish errors no retry can fix.
func mqPermanent(err error) bool {
	for _, p := range []error{mq.ErrTooLarge, mq.ErrInvalid, mq.ErrClosed, mq.ErrUnsupported, mq.ErrBadURL} {
		if errors.Is(err, p) {
			return true
		}
	}
	return false
}

// Close does nothing: the client belongs to the caller.
func (s *mqSink) Close(context.Context) error { return nil }
