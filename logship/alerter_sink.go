package logship

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/groundwork-go/groundwork/mq"
)

// AlertingSink returns a Sink that writes to next and feeds a the records
// next accepted, so that a Shipper's records reach the Alerter:
//
//	sh, err := logship.NewShipper(logship.AlertingSink(sink, alerter))
//
// A record is observed once its Write succeeded or failed permanently
// (dead-lettered: it was logged all the same; a whole-batch error marked
// Permanent included), and not when it failed retryably or with the whole
// batch otherwise: those are written again, and observing them each time
// would count one log line several times.
// Closing the Sink closes next, not the Alerter. With a nil Alerter it
// only passes through; with a nil next, Write and Close return ErrInvalid.
func AlertingSink(next Sink, a *Alerter) Sink {
	if next == nil {
		return nilSink{}
	}
	return &alertingSink{next: next, a: a}
}

// nilSink stands for a nil Sink given to AlertingSink: an error naming it,
// rather than a panic at the first Write.
type nilSink struct{}

func (nilSink) Write(context.Context, []Record) (Result, error) {
	return Result{}, fmt.Errorf("%w: AlertingSink: nil next Sink", ErrInvalid)
}

func (nilSink) Close(context.Context) error {
	return fmt.Errorf("%w: AlertingSink: nil next Sink", ErrInvalid)
}

type alertingSink struct {
	next Sink
	a    *Alerter
}

func (s *alertingSink) Write(ctx context.Context, batch []Record) (Result, error) {
	res, err := s.next.Write(ctx, batch)
	if s.a == nil {
		return res, err
	}
	if err != nil {
		if isPermanent(err) {
			// Refused for good as a whole: dead-lettered, logged all the
			// same, and not to be written again.
			for i := range batch {
				s.a.ObserveRecord(batch[i])
			}
		}
		return res, err
	}
	// Failures are in batch order (the Sink contract): walk them beside
	// the batch, without building a set. A Sink that breaks the order
	// costs a sorted copy, not a retried record counted twice.
	f := res.Failures
	if !slices.IsSortedFunc(f, byIndex) {
		f = slices.SortedFunc(slices.Values(f), byIndex)
	}
	for i := range batch {
		for len(f) > 0 && f[0].Index < i {
			f = f[1:]
		}
		if len(f) > 0 && f[0].Index == i && f[0].Retryable {
			continue
		}
		s.a.ObserveRecord(batch[i])
	}
	return res, nil
}

func byIndex(a, b Failure) int { return cmp.Compare(a.Index, b.Index) }

func (s *alertingSink) Close(ctx context.Context) error { return s.next.Close(ctx) }

// MessageHandler returns an mq.Handler that observes the records of a log
// topic MQSink publishes to, so that an Alerter can run as its own
// consumer group, beside (and independent of) the Indexer:
//
//	sub, err := client.Subscribe(ctx, topic, "alerter", alerter.MessageHandler())
//
// A message that is not a record is dead-lettered (mq.Permanent). A
// redelivered message is counted again: give the client WithDedup where
// that matters. (The Indexer can feed an Alerter the same way from its own
// handler: one call of ObserveRecord per record it indexed.)
func (a *Alerter) MessageHandler() mq.Handler {
	return func(_ context.Context, m *mq.Message) error {
		r, err := RecordFromMessage(m)
		if err != nil {
			return mq.Permanent(err)
		}
		a.ObserveRecord(r)
		return nil
	}
}
