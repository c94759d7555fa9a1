package logship

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestReviewESInvalidUTF8ID: an event id that is not valid UTF-8 (a
// message ID from another producer) is sent by json.Marshal as U+FFFD,
// the store echoes that _id, and the answer no longer matched what was
// sent: the whole batch was a retryable BulkError, for ever — one bad id
// stalled every record with it. It must fail alone, permanently.
func TestReviewESInvalidUTF8ID(t *testing.T) {
	tg := esTargets(t)[0]
	sink := ElasticsearchSink(tg.es, IndexOptions{Index: "logs-{service}"})
	now := time.Now()
	batch := []Record{esRecord("good", "svc", now, "x"), esRecord("bad\xff", "svc", now, "y"), esRecord("good2", "svc", now, "z")}
	res, err := sink.Write(context.Background(), batch)
	if err != nil {
		t.Fatalf("one bad id failed the whole batch: %v", err)
	}
	if len(res.Failures) != 1 || res.Failures[0].Index != 1 || res.Failures[0].Retryable {
		t.Fatalf("failures %+v, want record 1 alone, permanently", res.Failures)
	}
	if n := tg.double.Count("logs-svc"); n != 2 {
		t.Fatalf("%d documents stored, want the 2 good ones", n)
	}
}

// TestReviewESCatchAllPattern: an index pattern with no literal of its
// own ("{service}", "{service}-{2006}") makes an index template for "*"
// (or "*-*") at priority 200: with the Indexer's default template that
// would put the ILM policy — delete after 90 days — and 3 shards on every
// index the cluster creates afterwards (and, for a data stream, turn them
// all into data streams). NewIndexer must refuse it while it installs a
// template; without one the pattern is fine.
func TestReviewESCatchAllPattern(t *testing.T) {
	tg := esTargets(t)[0]
	c := esMemClient(t)
	for _, o := range []IndexOptions{{Index: "{service}"}, {Index: "{service}-{2006.01}"}, {DataStream: "{service}"}} {
		if _, err := NewIndexer(c, "logs", "g", tg.es, WithIndexerIndex(o)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v with the default template: %v, want ErrInvalid", o, err)
		}
		if _, err := NewIndexer(c, "logs", "g", tg.es, WithIndexerIndex(o), WithIndexerTemplate(nil)); err != nil {
			t.Errorf("%+v without a template: %v", o, err)
		}
	}
	if _, err := NewIndexer(c, "logs", "g", tg.es, WithIndexerIndex(IndexOptions{Index: "{service}-logs"})); err != nil {
		t.Errorf("{service}-logs: %v", err)
	}
}
