package logship

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/elastic/go-elasticsearch/v8"

	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/mq"
)

// Indexer drains an mq topic into Elasticsearch (Logstash's role): it
// consumes the records MQSink published, bulk-indexes them with _id =
// event id, and acknowledges a message only once its document is stored.
// See the package doc, # Indexer.
type Indexer struct {
	consumer     *mq.Client
	topic, group string
	es           *elasticsearch.Client
	sink         *esSink
	o            indexerOptions
	tel          *indexerTelemetry

	ctx     context.Context // ends the bulk requests at Shutdown
	cancel  context.CancelFunc
	in      chan *indexJob
	stop    chan struct{} // closed once handlers can no longer submit
	quit    chan struct{} // closed when Shutdown begins: handlers stop retrying
	workers sync.WaitGroup
	failing atomic.Bool // a streak of failed bulk requests, logged once

	mu        sync.Mutex
	started   bool
	closed    bool
	sub       *mq.Subscription
	installed Installation
}

// errIndexerStopping hands a message back to mq at Shutdown.
var errIndexerStopping = errors.New("logship: indexer: shutting down; handed back for redelivery")

// indexJob is one record waiting in a batch, and where its outcome goes.
type indexJob struct {
	rec  Record
	done chan jobResult // buffered 1: a worker never blocks on it
}

// jobResult is what became of one job: stored (err nil), refused alone
// (retryable or not), or part of a request that failed as a whole.
type jobResult struct {
	err       error
	retryable bool
	whole     bool
}

// NewIndexer returns an Indexer that will consume topic as group from
// consumer and index into es; Start begins. The options are checked here.
func NewIndexer(consumer *mq.Client, topic, group string, es *elasticsearch.Client, opts ...IndexerOption) (*Indexer, error) {
	switch {
	case consumer == nil:
		return nil, fmt.Errorf("%w: NewIndexer: nil mq client", ErrInvalid)
	case es == nil:
		return nil, fmt.Errorf("%w: NewIndexer: nil elasticsearch client", ErrInvalid)
	case topic == "" || group == "":
		return nil, fmt.Errorf("%w: NewIndexer: empty topic %q or group %q", ErrInvalid, topic, group)
	}
	o := defaultIndexerOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	target, err := compileIndex(o.index)
	if err != nil {
		return nil, err
	}
	if o.template != nil && !strings.ContainsFunc(target.wildcard(), isAlnum) {
		// The template's index_patterns would be "*" or "*-*": its
		// settings and ILM policy (delete after DeleteAfter) would apply
		// to every index the cluster creates, not only these logs.
		return nil, fmt.Errorf("%w: NewIndexer: index pattern %q has no literal name of its own (its template would match %q, nearly every index); add one (\"logs-{service}\") or use WithIndexerTemplate(nil)", ErrInvalid, cmp.Or(o.index.Index, o.index.DataStream), target.wildcard())
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Indexer{
		ctx: ctx, cancel: cancel,
		consumer: consumer, topic: topic, group: group, es: es, o: o,
		sink: &esSink{es: es, target: target, now: time.Now},
		in:   make(chan *indexJob),
		stop: make(chan struct{}),
		quit: make(chan struct{}),
	}, nil
}

// Start installs the index template and ILM policy (unless
// WithIndexerTemplate(nil)), then subscribes. A store that does not keep
// them is logged once and reported by Installed; with
// WithIndexerRequireTemplate it is an error and nothing is consumed.
// Start is idempotent; after Shutdown it returns ErrClosed.
func (ix *Indexer) Start(ctx context.Context) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	switch {
	case ix.closed:
		return ErrClosed
	case ix.started:
		return nil
	}
	if ix.o.template != nil {
		t := ix.o.template.withDefaults()
		inst := install(ctx, ix.es, t, ix.sink.target)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ix.installed = inst
		if !inst.Template || !inst.Policy {
			if ix.o.requireTemplate {
				return fmt.Errorf("logship: indexer: the store did not keep the template or policy: %s", inst.Reason)
			}
			ix.o.logger.Warn("logship: indexer: index template or ILM policy not installed; indexing without them", "reason", inst.Reason)
		}
	}
	ix.tel = newIndexerTelemetry(ix.o.meter, ix.topic)
	for range ix.o.workers {
		ix.workers.Add(1)
		go ix.work()
	}
	slots := ix.o.count * (ix.o.workers + 1)
	subOpts := append([]mq.SubscribeOption{mq.WithConcurrency(slots), mq.WithPrefetch(slots)}, ix.o.subOpts...)
	sub, err := ix.consumer.Subscribe(ctx, ix.topic, ix.group, ix.handle, subOpts...)
	if err != nil {
		close(ix.stop)
		ix.workers.Wait()
		ix.tel.close()
		ix.stop = make(chan struct{})
		return fmt.Errorf("logship: indexer: subscribe to %q: %w", ix.topic, err)
	}
	ix.sub, ix.started = sub, true
	return nil
}

// Installed reports what Start installed.
func (ix *Indexer) Installed() Installation {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.installed
}

// Shutdown stops consuming: the documents being indexed are finished and
// acknowledged, the messages not started are handed back to the group.
// Past ctx, what is in flight is left for redelivery. Idempotent.
func (ix *Indexer) Shutdown(ctx context.Context) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.closed {
		return nil
	}
	ix.closed = true
	// Handlers waiting to retry (the store is down) give their messages
	// back rather than hold the subscription's Shutdown for ever.
	close(ix.quit)
	if !ix.started {
		ix.cancel()
		return nil
	}
	// Handlers wait on the workers, so the subscription ends first.
	err := ix.sub.Shutdown(ctx)
	ix.cancel()
	close(ix.stop)
	ix.workers.Wait()
	ix.tel.close()
	if err != nil {
		return fmt.Errorf("logship: indexer: shutdown: %w", err)
	}
	return nil
}

// Close is Shutdown without a deadline.
func (ix *Indexer) Close() error { return ix.Shutdown(context.Background()) }

// handle is the mq handler: nil (ack) once the record's document is
// stored; mq.Permanent (dead letter) for a message that is no record or a
// document the store refuses for good; another error (redelivery) when
// retries in process ran out or the subscription is stopping.
func (ix *Indexer) handle(ctx context.Context, m *mq.Message) error {
	rec, err := RecordFromMessage(m)
	if err != nil {
		ix.tel.deadLettered.add(1)
		return mq.Permanent(err)
	}
	var waits backoff.BackOff // made on the first failure only
	itemTries := 0
	var firstItemFailure time.Time
	for {
		res := ix.index(ctx, rec)
		err := res.err
		if err == nil {
			ix.tel.indexed.add(1)
			return nil
		}
		switch {
		case ctx.Err() != nil || errors.Is(err, ErrClosed) || errors.Is(err, errIndexerStopping):
			ix.tel.handedBack.add(1)
			return err
		case res.whole && res.retryable:
			// The store is down or overloaded: wait for it, however
			// long, holding consumption back (the queue keeps the rest).
		case res.whole:
			// Refused as a whole (401, 403, 400): not this record's
			// fault, so no dead letter now; mq's attempts and backoff
			// apply, and its dead-letter topic keeps the reason.
			ix.tel.handedBack.add(1)
			return err
		case res.retryable:
			itemTries++
			if itemTries == 1 {
				firstItemFailure = time.Now()
			}
			if ix.itemRetriesSpent(itemTries, time.Since(firstItemFailure)) {
				ix.tel.handedBack.add(1)
				return err // mq redelivers, counting an attempt
			}
		default:
			ix.tel.deadLettered.add(1)
			return mq.Permanent(err)
		}
		ix.tel.retried.add(1)
		if waits == nil {
			waits = retrying.NewLoopBackOff(ix.o.retry)
		}
		t := time.NewTimer(waits.NextBackOff())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			ix.tel.handedBack.add(1)
			return ctx.Err()
		case <-ix.quit:
			t.Stop()
			ix.tel.handedBack.add(1)
			return fmt.Errorf("%w (after: %w)", errIndexerStopping, err)
		}
	}
}

// itemRetriesSpent reports whether a document the store refused tries
// times, the first refusal elapsed ago, has used up WithIndexerRetry's
// attempts or time (a negative bound is none; WithIndexerRetry refuses
// both unbounded).
func (ix *Indexer) itemRetriesSpent(tries int, elapsed time.Duration) bool {
	p := retrying.WithDefaults(ix.o.retry)
	return (p.MaxAttempts >= 0 && tries >= max(p.MaxAttempts, 1)) ||
		(p.MaxElapsedTime >= 0 && elapsed >= p.MaxElapsedTime)
}

// index puts rec in a batch and waits for its outcome.
func (ix *Indexer) index(ctx context.Context, rec Record) jobResult {
	job := &indexJob{rec: rec, done: make(chan jobResult, 1)}
	select {
	case ix.in <- job:
	case <-ix.quit:
		return jobResult{err: errIndexerStopping}
	case <-ctx.Done():
		return jobResult{err: ctx.Err()}
	}
	select {
	case res := <-job.done:
		return res
	case <-ctx.Done():
		// The document may still be stored; the redelivery's _id makes
		// that harmless.
		return jobResult{err: ctx.Err()}
	}
}

// work collects jobs into batches and sends each as one bulk request.
func (ix *Indexer) work() {
	defer ix.workers.Done()
	var batch []*indexJob
	size := 0
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		timer.Stop()
		if len(batch) > 0 {
			ix.flush(batch)
		}
		batch, size = nil, 0
	}
	for {
		select {
		case job := <-ix.in:
			if len(batch) == 0 {
				timer.Reset(ix.o.interval)
			}
			batch = append(batch, job)
			size += len(job.rec.JSON) + len(job.rec.ID) + 64
			if len(batch) >= ix.o.count || size >= ix.o.bytes {
				flush()
			}
		case <-timer.C:
			flush()
		case <-ix.stop:
			// Every handler has returned (the subscription ended first):
			// no one waits for what is left, whose messages were not
			// acknowledged and come again.
			return
		}
	}
}

// flush sends one batch and hands every job its outcome.
func (ix *Indexer) flush(batch []*indexJob) {
	recs := make([]Record, len(batch))
	for i, j := range batch {
		recs[i] = j.rec
	}
	start := time.Now()
	// The handlers bound their wait with their own contexts; the request
	// runs until its timeout or Shutdown ends it (ix.ctx), so that its
	// answer is read.
	ctx, cancel := context.WithTimeout(ix.ctx, ix.o.timeout)
	res, err := ix.sink.Write(ctx, recs)
	cancel()
	ix.tel.bulkNanos.Add(int64(time.Since(start)))
	if err != nil {
		ix.tel.bulkFailed.add(1)
		if ix.failing.CompareAndSwap(false, true) {
			ix.o.logger.Warn("logship: indexer: bulk request failed; retrying", "topic", ix.topic, "err", err)
		}
		var be *BulkError
		retryable := !errors.As(err, &be) || be.Retryable
		for _, j := range batch {
			j.done <- jobResult{err: err, retryable: retryable, whole: true}
		}
		return
	}
	ix.tel.bulkOK.add(1)
	if ix.failing.CompareAndSwap(true, false) {
		ix.o.logger.Info("logship: indexer: bulk requests succeed again", "topic", ix.topic)
	}
	results := make([]jobResult, len(batch))
	for _, f := range res.Failures {
		if f.Index >= 0 && f.Index < len(results) {
			results[f.Index] = jobResult{err: f.Err, retryable: f.Retryable}
		}
	}
	for i, j := range batch {
		j.done <- results[i]
	}
}

func isAlnum(c rune) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
