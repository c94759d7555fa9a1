package logship

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/logship/estest"
	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/resilience"
)

// esLeakCheck fails t if a goroutine started during it outlives it; it is
// registered first so that it runs after every other cleanup.
func esLeakCheck(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

var esFast = []IndexerOption{
	WithIndexerBatch(10, 1<<20, 20*time.Millisecond),
	WithIndexerRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, NoJitter: true}),
	WithIndexerSubscribeOptions(mq.WithRedeliveryBackoff(resilience.RetryPolicy{InitialInterval: time.Millisecond, NoJitter: true})),
}

func esMemClient(t *testing.T) *mq.Client {
	t.Helper()
	c, err := mq.Open(context.Background(), "mem://"+strings.ReplaceAll(t.Name(), "/", "_"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// esPublish publishes records as MQSink does.
func esPublish(t *testing.T, c *mq.Client, topic string, recs ...Record) {
	t.Helper()
	for _, r := range recs {
		if err := c.Publish(context.Background(), messageFor(topic, r)); err != nil {
			t.Fatal(err)
		}
	}
}

// esDeadLetters collects the dead-letter topic's messages.
type esDeadLetters struct {
	mu   sync.Mutex
	msgs map[string]string // message ID → HeaderDLQError
}

func esWatchDLQ(t *testing.T, c *mq.Client, topic string) *esDeadLetters {
	t.Helper()
	d := &esDeadLetters{msgs: map[string]string{}}
	sub, err := c.Subscribe(context.Background(), topic, "dlq-reader", func(_ context.Context, m *mq.Message) error {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.msgs[m.ID] = m.Headers[mq.HeaderDLQError]
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return d
}

func (d *esDeadLetters) get(id string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.msgs[id]
	return r, ok
}

func (d *esDeadLetters) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.msgs)
}

func esStartIndexer(t *testing.T, c *mq.Client, es *elasticsearch.Client, opts ...IndexerOption) *Indexer {
	t.Helper()
	ix, err := NewIndexer(c, "logs", "indexer", es, append(append([]IndexerOption{}, esFast...), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

// TestIndexerEndToEnd: the template and ILM policy are installed with
// the settings; records published to the topic land once each in
// daily indices, under their event ids.
func TestIndexerEndToEnd(t *testing.T) {
	esLeakCheck(t)
	for _, tg := range esTargets(t) {
		t.Run(tg.name, func(t *testing.T) {
			c := esMemClient(t)
			ix := esStartIndexer(t, c, tg.es, WithIndexerIndex(IndexOptions{Index: tg.prefix + "-{service}-{2006.01.02}"}),
				WithIndexerTemplate(&TemplateOptions{Name: tg.prefix + "-tpl"}))
			if inst := ix.Installed(); !inst.Template || !inst.Policy {
				t.Fatalf("installed: %+v", inst)
			}
			if tg.double != nil {
				var tpl struct {
					Patterns []string `json:"index_patterns"`
					Template struct {
						Settings map[string]any `json:"settings"`
						Mappings struct {
							Properties map[string]map[string]any `json:"properties"`
						} `json:"mappings"`
					} `json:"template"`
				}
				if err := json.Unmarshal(tg.double.Template("logs-tpl"), &tpl); err != nil {
					t.Fatal(err)
				}
				s := tpl.Template.Settings
				if tpl.Patterns[0] != "logs-*-*" || s["index.number_of_shards"] != 3.0 || s["index.number_of_replicas"] != 1.0 ||
					s["index.refresh_interval"] != "30s" || s["index.lifecycle.name"] != "logs-tpl" ||
					tpl.Template.Mappings.Properties["@timestamp"]["type"] != "date" || tpl.Template.Mappings.Properties["log.level"]["type"] != "keyword" {
					t.Fatalf("template: %s", tg.double.Template("logs-tpl"))
				}
				pol := string(tg.double.Policy("logs-tpl"))
				if !strings.Contains(pol, `"warm":{"actions"`) || !strings.Contains(pol, `"min_age":"90d"`) || !strings.Contains(pol, `"min_age":"7d"`) {
					t.Fatalf("policy: %s", pol)
				}
			}
			day := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
			var recs []Record
			for i, id := range esIDs("e", 35) {
				recs = append(recs, esRecord(id, []string{"billing", "auth"}[i%2], day, "m"+id))
			}
			esPublish(t, c, "logs", recs...)
			esWait(t, "35 documents", func() bool { return esCount(t, tg.es, tg.prefix+"-*") == 35 })
			if got := esCount(t, tg.es, tg.prefix+"-billing-2026.11.30"); got != 18 {
				t.Fatalf("billing: %d", got)
			}
		})
	}
}

// TestIndexerItemFaults: a 429 item is retried alone and stored once; a
// mapping error is dead-lettered with its reason while its neighbours are
// stored; a message that is no record is dead-lettered, never stalls.
func TestIndexerItemFaults(t *testing.T) {
	esLeakCheck(t)
	tg := esTargets(t)[0]
	d := tg.double
	c := esMemClient(t)
	dlq := esWatchDLQ(t, c, "logs.dlq")
	mp, reader := esMeter()
	ix := esStartIndexer(t, c, tg.es, WithIndexerMeterProvider(mp))

	d.FailDocument("e-0003", 429, "es_rejected_execution_exception", "queue full", 2)
	d.FailDocument("e-0005", 400, "mapper_parsing_exception", "failed to parse field [log.level]", -1)
	var recs []Record
	for _, id := range esIDs("e", 20) {
		recs = append(recs, esRecord(id, "svc", time.Now(), "m"))
	}
	esPublish(t, c, "logs", recs...)
	if err := c.Publish(context.Background(), &mq.Message{ID: "junk", Topic: "logs", Payload: []byte("not json")}); err != nil {
		t.Fatal(err)
	}
	esWait(t, "19 documents and 2 dead letters", func() bool { return d.Count("logs-*") == 19 && dlq.len() == 2 })
	reason, _ := dlq.get("e-0005")
	if !strings.Contains(reason, "mapper_parsing_exception") || !strings.Contains(reason, "failed to parse field [log.level]") {
		t.Fatalf("dead letter reason: %q", reason)
	}
	if reason, _ := dlq.get("junk"); !strings.Contains(reason, "not an ECS JSON object") {
		t.Fatalf("junk reason: %q", reason)
	}
	// Sent: 20 documents, e-0003 twice more (alone, not its batch), and
	// e-0005 once: it is not retried.
	_, docs := d.Bulks()
	if docs != 22 {
		t.Fatalf("documents sent: %d, want 22", docs)
	}
	var got map[string]int64
	esWait(t, "the metrics to count every outcome", func() bool {
		got = esCollect(t, reader)
		return got["indexed"] == 19 && got["dead_letter"] == 2
	})
	if got["retried"] != 2 || got["bulk_ok"] < 1 || got["bulk_error"] != 0 {
		t.Fatalf("metrics: %v", got)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestIndexerStoreOutage: whole requests answered 503, a malformed
// answer, then a store that is down while the Indexer is shut down and
// another takes over the group: nothing is acknowledged before it is
// stored, nothing is lost, and the _ids make the redeliveries harmless.
func TestIndexerStoreOutage(t *testing.T) {
	esLeakCheck(t)
	tg := esTargets(t)[0]
	d := tg.double
	c := esMemClient(t)
	dlq := esWatchDLQ(t, c, "logs.dlq")
	ix1, err := NewIndexer(c, "logs", "indexer", tg.es, esFast...)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix1.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	d.FailBulk(503, 503, 429)
	d.Malform(1)
	ids := esIDs("o", 30)
	for _, id := range ids[:10] {
		esPublish(t, c, "logs", esRecord(id, "svc", time.Now(), "m"))
	}
	esWait(t, "the first 10 after the faults", func() bool { return d.Count("logs-*") == 10 })

	d.SetDown(true)
	for _, id := range ids[10:] {
		esPublish(t, c, "logs", esRecord(id, "svc", time.Now(), "m"))
	}
	esWait(t, "bulk requests failing", func() bool { return ix1.tel.bulkFailed.n.Load() >= 6 })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_ = ix1.Shutdown(ctx) // handlers still waiting for the store are cut short
	cancel()
	if n := d.Count("logs-*"); n != 10 {
		t.Fatalf("%d stored while down", n)
	}
	d.SetDown(false)
	esStartIndexer(t, c, tg.es)
	esWait(t, "all 30", func() bool { return d.Count("logs-*") == 30 })
	if dlq.len() != 0 {
		t.Fatalf("dead letters in an outage: %d", dlq.len())
	}
}

// TestIndexerTemplateUnsupported: a store without templates is reported
// by Installed and logged; WithIndexerRequireTemplate makes it an error.
func TestIndexerTemplateUnsupported(t *testing.T) {
	esLeakCheck(t)
	d := estest.New(t, &estest.Options{NoTemplates: true})
	es, err := d.Client()
	if err != nil {
		t.Fatal(err)
	}
	c := esMemClient(t)
	ix := esStartIndexer(t, c, es)
	if inst := ix.Installed(); inst.Template || inst.Policy || !strings.Contains(inst.Reason, "404") {
		t.Fatalf("installed: %+v", inst)
	}
	esPublish(t, c, "logs", esRecord("x1", "svc", time.Now(), "still indexed"))
	esWait(t, "x1", func() bool { return d.Count("logs-*") == 1 })

	strict, err := NewIndexer(c, "logs", "strict", es, WithIndexerRequireTemplate())
	if err != nil {
		t.Fatal(err)
	}
	if err := strict.Start(context.Background()); err == nil {
		t.Fatal("Start with a required template on a store without: nil error")
	}
	if err := strict.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestIndexerLifecycle: bad arguments are ErrInvalid; Start and Shutdown
// are idempotent; Start after Shutdown is ErrClosed.
func TestIndexerLifecycle(t *testing.T) {
	esLeakCheck(t)
	tg := esTargets(t)[0]
	c := esMemClient(t)
	for name, f := range map[string]func() error{
		"nil client": func() error { _, err := NewIndexer(nil, "t", "g", tg.es); return err },
		"nil es":     func() error { _, err := NewIndexer(c, "t", "g", nil); return err },
		"no topic":   func() error { _, err := NewIndexer(c, "", "g", tg.es); return err },
		"bad batch": func() error {
			_, err := NewIndexer(c, "t", "g", tg.es, WithIndexerBatch(0, 1, time.Second))
			return err
		},
		"bad index": func() error {
			_, err := NewIndexer(c, "t", "g", tg.es, WithIndexerIndex(IndexOptions{Index: "UP"}))
			return err
		},
		"bad tpl": func() error {
			_, err := NewIndexer(c, "t", "g", tg.es, WithIndexerTemplate(&TemplateOptions{WarmAfter: 48 * time.Hour, DeleteAfter: time.Hour}))
			return err
		},
	} {
		if err := f(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	ix, err := NewIndexer(c, "t", "g", tg.es)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := ix.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := ix.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Shutdown: %v", err)
	}
}

func esMeter() (*sdkmetric.MeterProvider, *sdkmetric.ManualReader) {
	r := sdkmetric.NewManualReader()
	return sdkmetric.NewMeterProvider(sdkmetric.WithReader(r)), r
}

// esCollect reads the Indexer's counters: documents by outcome, and
// bulk_ok / bulk_error requests.
func esCollect(t *testing.T, r *sdkmetric.ManualReader) map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				continue
			}
			for _, dp := range sum.DataPoints {
				o, _ := dp.Attributes.Value("outcome")
				key := o.AsString()
				if m.Name == "logship.indexer.bulk.requests" {
					key = "bulk_" + key
				}
				out[key] = dp.Value
			}
		}
	}
	return out
}

// TestIndexerCloseDuringOutage: Close returns while the store is down
// and handlers are waiting to retry (it used to wait for them for ever);
// the messages are left for redelivery, not acknowledged.
func TestIndexerCloseDuringOutage(t *testing.T) {
	esLeakCheck(t)
	tg := esTargets(t)[0]
	d := tg.double
	c := esMemClient(t)
	ix := esStartIndexer(t, c, tg.es)
	d.SetDown(true)
	esPublish(t, c, "logs", esRecord("c1", "svc", time.Now(), "m"), esRecord("c2", "svc", time.Now(), "m"))
	esWait(t, "bulk requests failing", func() bool { return ix.tel.bulkFailed.n.Load() >= 3 })
	closed := make(chan error, 1)
	go func() { closed <- ix.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close still waiting after 30s with the store down")
	}
	d.SetDown(false)
	esStartIndexer(t, c, tg.es)
	esWait(t, "both documents after the restart", func() bool { return d.Count("logs-*") == 2 })
}

// TestIndexerManyItemRetries: WithIndexerRetry with MaxAttempts < 0 and
// a bounded MaxElapsedTime retries a 429 item in process until it is
// stored, within the time; it used to hand the message back to mq after
// the first failure.
func TestIndexerManyItemRetries(t *testing.T) {
	esLeakCheck(t)
	tg := esTargets(t)[0]
	d := tg.double
	c := esMemClient(t)
	mp, reader := esMeter()
	esStartIndexer(t, c, tg.es, WithIndexerMeterProvider(mp),
		WithIndexerRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, NoJitter: true, MaxAttempts: -1, MaxElapsedTime: time.Hour}))
	d.FailDocument("u1", 429, "es_rejected_execution_exception", "queue full", 7)
	esPublish(t, c, "logs", esRecord("u1", "svc", time.Now(), "m"))
	var got map[string]int64
	esWait(t, "u1 indexed", func() bool {
		got = esCollect(t, reader)
		return got["indexed"] == 1
	})
	if got["retried"] != 7 || got["handed_back"] != 0 {
		t.Fatalf("metrics: %v", got)
	}
}

// TestIndexerRetryRefusesUnbounded: a policy bounding neither attempts
// nor time is refused, as WithRetry refuses it for the Shipper (it used
// to be accepted, and a document refused for good held its message for
// ever).
func TestIndexerRetryRefusesUnbounded(t *testing.T) {
	err := WithIndexerRetry(resilience.RetryPolicy{MaxAttempts: -1, MaxElapsedTime: -1})(&indexerOptions{})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "unbounded") {
		t.Fatalf("err = %v, want ErrInvalid naming the unbounded policy", err)
	}
}

// TestIndexerItemRetriesSpent: the item retries end at whichever bound
// comes first.
func TestIndexerItemRetriesSpent(t *testing.T) {
	for _, c := range []struct {
		p       resilience.RetryPolicy
		tries   int
		elapsed time.Duration
		want    bool
	}{
		{resilience.RetryPolicy{MaxAttempts: 3, MaxElapsedTime: -1}, 2, time.Hour, false},
		{resilience.RetryPolicy{MaxAttempts: 3, MaxElapsedTime: -1}, 3, 0, true},
		{resilience.RetryPolicy{MaxAttempts: -1, MaxElapsedTime: time.Minute}, 1000, time.Second, false},
		{resilience.RetryPolicy{MaxAttempts: -1, MaxElapsedTime: time.Minute}, 1, time.Minute, true},
		{resilience.RetryPolicy{MaxAttempts: 100, MaxElapsedTime: time.Minute}, 2, 2 * time.Minute, true},
	} {
		ix := &Indexer{o: indexerOptions{retry: c.p}}
		if got := ix.itemRetriesSpent(c.tries, c.elapsed); got != c.want {
			t.Errorf("%+v tries=%d elapsed=%v: spent=%v, want %v", c.p, c.tries, c.elapsed, got, c.want)
		}
	}
}
