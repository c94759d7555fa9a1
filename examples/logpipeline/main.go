// Command logpipeline runs a whole log pipeline built with logship: a
// service logging through log/slog, its records redacted, sampled and
// shipped through a crash-safe disk buffer to an mq topic, an Indexer
// draining the topic into Elasticsearch, an Archiver keeping a cold copy
// per service and hour in a filestore, and an Alerter catching a spike
// of errors; then it reads everything back.
//
//	go run ./examples/logpipeline
//
// It needs no server: the topic is on the in-process broker (mem://),
// Elasticsearch is logship/estest — an in-process test double that keeps
// documents in memory and answers the API calls logship makes, not an
// Elasticsearch — and the archive goes to a temporary directory. Set
// GROUNDWORK_KAFKA_BROKERS or GROUNDWORK_REDIS_URL to carry the logs over
// Kafka or Redis Streams, GROUNDWORK_ES_URL to index into a real cluster,
// GROUNDWORK_ARCHIVE_URL (a filestore URL: s3://bucket?region=...) to
// archive elsewhere.
//
// The output is the same on every run, apart from its first line, which
// names the backends: the service's traffic is fixed, each stage waits
// until the pipeline has carried every record, and the Alerter runs on
// a clock of the program's (AlertOptions.Now), evaluated step by step.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "logpipeline:", err)
		os.Exit(1)
	}
}

// The service's traffic: quiet steps of orders with the odd declined
// card, then a step where the payment provider fails most of them.
const (
	ordersPerStep  = 20
	quietSteps     = 6
	spikeDeclined  = 14 // of the spike step's orders
	healthChecks   = 100
	sampleFirst    = 5  // the probe's records kept per interval ...
	sampleThereAft = 20 // ... then one in this many
)

// run tells the story on w, which the test reads.
func run(ctx context.Context, w io.Writer) error {
	b, err := openBackends(ctx)
	if err != nil {
		return err
	}
	defer b.close()
	fmt.Fprintf(w, "== logpipeline: %s\n", b.about)

	p, err := startPipeline(ctx, b, w)
	if err != nil {
		return err
	}
	defer p.stop()

	if err := p.serve(ctx, w); err != nil {
		return err
	}
	if err := p.readIndex(ctx, w); err != nil {
		return err
	}
	if err := p.readArchive(ctx, w); err != nil {
		return err
	}
	return p.stop()
}
