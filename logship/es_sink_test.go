package logship

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestElasticsearchSink: a batch goes to daily indices per service with
// _id = event id; writing it again stores nothing twice.
func TestElasticsearchSink(t *testing.T) {
	for _, tg := range esTargets(t) {
		t.Run(tg.name, func(t *testing.T) {
			sink := ElasticsearchSink(tg.es, IndexOptions{Index: tg.prefix + "-{service}-{2006.01.02}", Refresh: "true"})
			day := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
			batch := []Record{
				esRecord("e1", "billing", day, "charged"),
				esRecord("e2", "billing", day.Add(24*time.Hour), "refunded"),
				esRecord("e3", "auth", day, "login"),
			}
			for range 2 {
				res, err := sink.Write(context.Background(), batch)
				if err != nil || len(res.Failures) != 0 {
					t.Fatalf("write: %+v %v", res, err)
				}
			}
			for idx, want := range map[string]int{
				tg.prefix + "-billing-2026.11.30": 1, tg.prefix + "-billing-2026.12.01": 1, tg.prefix + "-auth-2026.11.30": 1,
			} {
				if got := esCount(t, tg.es, idx); got != want {
					t.Errorf("%s: %d documents, want %d", idx, got, want)
				}
			}
			if tg.double != nil {
				if _, ok := tg.double.Docs("logs-billing-2026.11.30")["e1"]; !ok {
					t.Errorf("e1 not stored under its _id: %v", tg.double.Indices())
				}
			}
		})
	}
}

// TestElasticsearchSinkDataStream: create into a data stream; a
// redelivered record's 409 counts as stored.
func TestElasticsearchSinkDataStream(t *testing.T) {
	tg := esTargets(t)[0]
	d := tg.double
	ctx := context.Background()
	if err := esPut(ctx, tg.es, esPutTemplate("ds", `{"index_patterns":["logs-*-default"],"data_stream":{}}`)); err != nil {
		t.Fatal(err)
	}
	sink := ElasticsearchSink(tg.es, IndexOptions{DataStream: "logs-{service}-default"})
	now := time.Now()
	res, err := sink.Write(ctx, []Record{esRecord("a", "svc", now, "x"), esRecord("b", "svc", now, "y")})
	if err != nil || len(res.Failures) != 0 {
		t.Fatal(res, err)
	}
	res, err = sink.Write(ctx, []Record{esRecord("b", "svc", now, "y"), esRecord("c", "svc", now, "z")})
	if err != nil || len(res.Failures) != 0 {
		t.Fatalf("redelivery: %+v %v", res, err)
	}
	if !d.IsDataStream("logs-svc-default") || len(d.Docs("logs-svc-default")) != 3 {
		t.Fatalf("data stream: %v %d docs", d.IsDataStream("logs-svc-default"), len(d.Docs("logs-svc-default")))
	}
	// Into a data stream, the index action is refused, per item.
	res, err = ElasticsearchSink(tg.es, IndexOptions{Index: "logs-{service}-default"}).Write(ctx, []Record{esRecord("d", "svc", now, "z")})
	if err != nil || len(res.Failures) != 1 || res.Failures[0].Retryable {
		t.Fatalf("index action into a data stream: %+v %v", res, err)
	}
}

// TestElasticsearchSinkFaults: per-item and whole-request failures are
// classified; a 413 splits the batch; a bad record fails alone.
func TestElasticsearchSinkFaults(t *testing.T) {
	tg := esTargets(t)[0]
	d := tg.double
	ctx := context.Background()
	sink := ElasticsearchSink(tg.es, IndexOptions{})
	now := time.Now()
	batch := []Record{esRecord("f1", "s", now, "a"), esRecord("f2", "s", now, "b"), {ID: "bad", Service: "s", JSON: []byte("not json")}, esRecord("f4", "s", now, "d")}

	d.FailDocument("f2", 429, "es_rejected_execution_exception", "queue full", 1)
	d.FailDocument("f4", 400, "mapper_parsing_exception", "failed to parse field [level]", -1)
	res, err := sink.Write(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failures) != 3 || res.Failures[0].Index != 1 || !res.Failures[0].Retryable ||
		res.Failures[1].Index != 2 || res.Failures[1].Retryable || res.Failures[2].Index != 3 || res.Failures[2].Retryable {
		t.Fatalf("failures: %+v", res.Failures)
	}
	var ie *ItemError
	if !errors.As(res.Failures[2].Err, &ie) || ie.Type != "mapper_parsing_exception" {
		t.Fatalf("mapping error: %v", res.Failures[2].Err)
	}

	for _, status := range []int{503, 429, 401} {
		d.FailBulk(status)
		_, err := sink.Write(ctx, batch[:1])
		var be *BulkError
		if !errors.As(err, &be) || be.Status != status || be.Retryable != (status != 401) {
			t.Fatalf("whole %d: %v", status, err)
		}
	}
	d.Malform(1)
	if _, err := sink.Write(ctx, batch[:1]); !isRetryableBulk(err) || !errors.Is(err, errBulkAnswer) {
		t.Fatalf("malformed answer: %v", err)
	}
	d.Drop(1)
	if _, err := sink.Write(ctx, batch[:1]); !isRetryableBulk(err) {
		t.Fatalf("dropped connection: %v", err)
	}

	// 413: halves are sent on their own.
	before, _ := d.Bulks()
	d.FailBulk(413)
	res, err = sink.Write(ctx, []Record{esRecord("g1", "s", now, "a"), esRecord("g2", "s", now, "b")})
	after, _ := d.Bulks()
	if err != nil || len(res.Failures) != 0 || after-before != 3 {
		t.Fatalf("413 split: %+v %v, %d requests", res, err, after-before)
	}
	d.FailBulk(413)
	res, err = sink.Write(ctx, []Record{esRecord("g3", "s", now, "a")})
	if err != nil || len(res.Failures) != 1 || res.Failures[0].Retryable {
		t.Fatalf("413 alone: %+v %v", res, err)
	}
}

func isRetryableBulk(err error) bool {
	var be *BulkError
	return errors.As(err, &be) && be.Retryable
}
