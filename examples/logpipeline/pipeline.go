package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/groundwork-go/groundwork/logship"
)

// pipeline is the running pipeline: the service's Shipper on one side of
// the topic, the Indexer and the Archiver on the other, the Alerter fed
// by the Shipper's Sink.
type pipeline struct {
	b        *backends
	bufDir   string
	alerter  *logship.Alerter
	clock    *stepClock
	indexer  *logship.Indexer
	archiver *logship.Archiver
	shipper  *logship.Shipper
	svc      *checkout
	shipped  int             // records the Shipper took (sampling's left out)
	indexed  map[string]bool // event ids read back from Elasticsearch
	start    time.Time
	stopped  bool
	stopErr  error
}

// startPipeline starts the consumers first, so that the topic's groups
// exist before the first record is published (a new Redis or Kafka
// group starts at the end of the topic), then the Shipper.
func startPipeline(ctx context.Context, b *backends, w io.Writer) (p *pipeline, err error) {
	p = &pipeline{b: b, indexed: map[string]bool{}, start: time.Now()}
	defer func() {
		if err != nil {
			p.stop()
		}
	}()
	quiet := slog.New(slog.DiscardHandler) // the components' own logs: not part of the story

	// The Alerter runs on our clock: each step of the service's traffic
	// is evaluated when we say, so the outcome does not depend on how
	// fast this machine is.
	p.clock = newStepClock()
	p.alerter = logship.NewAlerter(logship.AlertOptions{
		Now: p.clock.now,
		// The defaults are for real traffic: 50 records a window, and 5
		// windows of history before the first alert. Here a window of
		// history (the quiet steps) is enough.
		MinVolume: ordersPerStep,
		Warmup:    1,
		Logger:    quiet,
		OnAlert: func(a logship.Alert) {
			fmt.Fprintf(w, "   ALERT %s: %.0f%% errors in the last minute (%d of %d records) against a %.0f%% baseline, z=%.1f\n",
				a.Service, a.Rate*100, a.Errors, a.Volume, a.Baseline*100, a.Z)
		},
	})
	if err := p.alerter.Err(); err != nil {
		return p, err
	}

	p.indexer, err = logship.NewIndexer(b.broker, b.topic, "indexer", b.es,
		logship.WithIndexerIndex(logship.IndexOptions{Index: b.index}),
		logship.WithIndexerTemplate(&logship.TemplateOptions{Name: b.template}),
		logship.WithIndexerBatch(200, 1<<20, 50*time.Millisecond),
		logship.WithIndexerLogger(quiet))
	if err != nil {
		return p, err
	}
	if err := p.indexer.Start(ctx); err != nil {
		return p, err
	}
	inst := p.indexer.Installed()
	fmt.Fprintf(w, "\n-- Indexer: topic → Elasticsearch bulk, _id = event id; index template and ILM policy installed: %t, %t\n", inst.Template, inst.Policy)

	p.archiver, err = logship.NewArchiver(b.broker, b.topic, "archiver", b.archive,
		logship.WithArchivePrefix(b.archivePrefix),
		// A service-hour is written 100ms after its first record came:
		// soon, for the read-back below (the default waits a minute).
		logship.WithArchiveFlush(1000, 8<<20, 100*time.Millisecond),
		logship.WithArchiveLogger(quiet))
	if err != nil {
		return p, err
	}
	fmt.Fprintf(w, "-- Archiver: topic → gzipped NDJSON objects per service and hour, with a manifest, in the archive store\n")

	// The Shipper: every record is in a write-ahead log on disk before
	// Handle returns (WithBuffer), and leaves it only once the topic
	// took it; a crash or a broker outage costs nothing, the next start
	// delivers what was left. AlertingSink counts each record the topic
	// took for the Alerter.
	if p.bufDir, err = os.MkdirTemp("", "logpipeline-buffer-"); err != nil {
		return p, err
	}
	sink := logship.AlertingSink(logship.MQSink(b.broker, b.topic), p.alerter)
	p.shipper, err = logship.NewShipper(sink,
		logship.WithBuffer(p.bufDir),
		logship.WithBatch(100, 1<<20, 50*time.Millisecond),
		logship.WithLogger(quiet))
	if err != nil {
		return p, err
	}
	opts := logship.HandlerOptions{
		Service: "checkout", Env: "production", Version: "1.4.2",
		Redact: logship.DefaultRules(), // e-mails, card numbers, tokens, password=... attributes
	}
	probe := opts
	probe.Level = slog.LevelDebug
	probe.Sample = &logship.Sampling{First: sampleFirst, Thereafter: sampleThereAft, Interval: time.Hour}
	p.svc = &checkout{log: slog.New(p.shipper.Handler(&opts)), probe: slog.New(p.shipper.Handler(&probe))}
	fmt.Fprintf(w, "-- Shipper: slog → redaction → disk buffer (WithBuffer) → MQSink → topic, counted by the Alerter on the way\n")
	return p, nil
}

// serve runs the service's traffic, one Alerter step at a time: the
// records of a step are flushed through the topic (and so counted by
// the Alerter) before the step is evaluated.
func (p *pipeline) serve(ctx context.Context, w io.Writer) error {
	fmt.Fprintf(w, "\n-- the checkout service logs\n")
	for range healthChecks {
		p.svc.healthCheck(ctx)
	}
	kept := sampleFirst + (healthChecks-sampleFirst)/sampleThereAft
	p.shipped += kept
	fmt.Fprintf(w, "   %d health checks: sampling keeps the first %d, then 1 in %d: %d records\n", healthChecks, sampleFirst, sampleThereAft, kept)
	fmt.Fprintf(w, "   each order logs %q with customer=%s card=%q, in the clear\n", "order placed", customerEmail, customerCard)
	alerts := 0
	for step := 1; step <= quietSteps+1; step++ {
		declined := 1 // a card declined now and then: the service's normal
		if step > quietSteps {
			declined = spikeDeclined
			fmt.Fprintf(w, "   then the payment provider fails: %d of the next %d orders are declined\n", declined, ordersPerStep)
		}
		for i := range ordersPerStep {
			p.svc.order(ctx, i < declined)
		}
		p.shipped += ordersPerStep
		// Flush returns once every record so far is on the topic and
		// acknowledged in the disk buffer.
		if err := p.shipper.Flush(ctx); err != nil {
			return err
		}
		fired, err := p.alerter.Evaluate(ctx, p.clock.next())
		if err != nil {
			return err
		}
		if step == quietSteps {
			fmt.Fprintf(w, "   %d steps of %d orders, 1 declined in each: %d alerts (the Alerter learns the %.0f%% as normal)\n",
				quietSteps, ordersPerStep, alerts+len(fired), 100.0/ordersPerStep)
		}
		alerts += len(fired)
	}
	if alerts == 0 {
		return errors.New("the Alerter did not fire on the spike")
	}
	fmt.Fprintf(w, "   Flush returned: all %d records are on the topic and acknowledged in the disk buffer\n", p.shipped)
	return nil
}

// stop shuts everything down, the producer first, and returns the first
// error. It is idempotent.
func (p *pipeline) stop() error {
	if p.stopped {
		return p.stopErr
	}
	p.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	var errs []error
	if p.shipper != nil {
		errs = append(errs, p.shipper.Shutdown(ctx))
	}
	if p.indexer != nil {
		errs = append(errs, p.indexer.Shutdown(ctx))
	}
	if p.archiver != nil {
		errs = append(errs, p.archiver.Shutdown(ctx))
	}
	if p.alerter != nil {
		errs = append(errs, p.alerter.Close())
	}
	if p.bufDir != "" {
		errs = append(errs, os.RemoveAll(p.bufDir))
	}
	p.stopErr = errors.Join(errs...)
	return p.stopErr
}

// stepClock is the Alerter's clock: it moves only when next is called,
// a step (10s, the default window's sixth) at a time. It starts an hour
// ahead of the records' own times, so that every record counts in the
// step being filled (the Alerter counts a record older than its current
// step in that step): which step a record falls in is ours to say, not
// the wall clock's.
type stepClock struct{ t time.Time }

const alertStep = logship.DefaultAlertWindow / logship.DefaultAlertBuckets

func newStepClock() *stepClock {
	return &stepClock{t: time.Now().Add(time.Hour).Truncate(alertStep)}
}

func (c *stepClock) now() time.Time { return c.t }

// next moves the clock one step on and returns it.
func (c *stepClock) next() time.Time {
	c.t = c.t.Add(alertStep)
	return c.t
}
