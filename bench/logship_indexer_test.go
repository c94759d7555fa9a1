package bench

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esutil"

	"github.com/groundwork-go/groundwork/logship"
	"github.com/groundwork-go/groundwork/logship/estest"
	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
)

// Indexer vs a bare esutil.BulkIndexer, both draining the same kind of
// mem:// topic backlog (b.N log records) into the same estest double, with
// the same batch (500 documents) and 2 bulk workers. The BulkIndexer
// acknowledges each message when it is added (no per-document outcome:
// what go-elasticsearch #390 is about); the Indexer acknowledges it
// once its document is stored. Reported: docs/s.
//
//	cd bench && go test -run '^$' -bench 'Indexer' -benchtime 20000x -count 5
const esBenchBatch = 500

func esBenchPayload(i int) *mq.Message {
	id := fmt.Sprintf("ev-%08d", i%20000) // the double overwrites: bounded memory
	ts := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano)
	doc := fmt.Sprintf(`{"@timestamp":%q,"log":{"level":"info"},"message":"request served in 12ms","service":{"name":"billing","version":"1.4.2"},"event":{"id":%q},"http":{"method":"GET","status":200},"trace":{"id":"4bf92f3577b34da6a3ce929d0e0e4736"}}`, ts, id)
	return &mq.Message{ID: id, Topic: "logs", Payload: []byte(doc), Headers: map[string]string{
		logship.HeaderService: "billing", logship.HeaderLevel: "INFO", logship.HeaderTime: ts,
	}}
}

// esBacklog publishes n records to a fresh mem:// broker after group has
// joined, and returns the client.
func esBacklog(b *testing.B, group string, n int) *mq.Client {
	b.Helper()
	c, err := mq.Open(context.Background(), "mem://"+strings.ReplaceAll(b.Name(), "/", "_")+fmt.Sprint(n))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	join, err := c.Subscribe(context.Background(), "logs", group, func(context.Context, *mq.Message) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	join.Close()
	for i := range n {
		if err := c.Publish(context.Background(), esBenchPayload(i)); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

func esWaitDocs(b *testing.B, d *estest.Server, want int) {
	for {
		if _, docs := d.Bulks(); docs >= want {
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
}

func BenchmarkIndexer(b *testing.B) {
	d := estest.New(b, nil)
	es, err := d.Client()
	if err != nil {
		b.Fatal(err)
	}
	c := esBacklog(b, "indexer", b.N)
	ix, err := logship.NewIndexer(c, "logs", "indexer", es,
		logship.WithIndexerBatch(esBenchBatch, 5<<20, time.Second), logship.WithIndexerWorkers(2))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if err := ix.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	esWaitDocs(b, d, b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	if err := ix.Close(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkBulkIndexerBare(b *testing.B) {
	d := estest.New(b, nil)
	es, err := d.Client()
	if err != nil {
		b.Fatal(err)
	}
	c := esBacklog(b, "bare", b.N)
	// BulkIndexer batches by bytes only: 500 documents of this size,
	// their action lines included.
	m := esBenchPayload(0)
	perDoc := len(m.Payload) + len(`{"index":{"_index":"logs-billing-2026.11.30","_id":"ev-00000000"}}`) + 2
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{Client: es, NumWorkers: 2, FlushBytes: esBenchBatch * perDoc, FlushInterval: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	sub, err := c.Subscribe(context.Background(), "logs", "bare", func(ctx context.Context, m *mq.Message) error {
		return bi.Add(ctx, esutil.BulkIndexerItem{
			Action: "index", Index: "logs-billing-2026.11.30", DocumentID: m.ID, Body: bytes.NewReader(m.Payload),
		})
	}, mq.WithConcurrency(esBenchBatch*3), mq.WithPrefetch(esBenchBatch*3))
	if err != nil {
		b.Fatal(err)
	}
	esWaitDocs(b, d, b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	sub.Close()
	if err := bi.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}
