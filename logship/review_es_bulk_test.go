package logship

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
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

// TestReviewESHugeAnswer: a bulk answer is read item by item, but one
// value of it (a field, an item's error) was read whole, however large:
// a store (or a proxy) answering 200 with an endless body took memory
// without bound. The answer is now capped by the items sent.
func TestReviewESHugeAnswer(t *testing.T) {
	const offered = 96 << 20
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"took":1,"junk":"`)
		chunk := bytes.Repeat([]byte("a"), 64<<10)
		for served.Load() < offered {
			n, err := w.Write(chunk)
			served.Add(int64(n))
			if err != nil {
				return
			}
		}
		_, _ = io.WriteString(w, `","errors":false,"items":[{"index":{"_id":"x","status":201}}]}`)
	}))
	defer srv.Close()
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: []string{srv.URL}, DisableRetry: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ElasticsearchSink(es, IndexOptions{}).Write(context.Background(), []Record{esRecord("x", "svc", time.Now(), "m")})
	var be *BulkError
	if !errors.As(err, &be) || !be.Retryable {
		t.Fatalf("Write: %v, want a retryable BulkError", err)
	}
	if n := served.Load(); n >= offered/2 {
		t.Fatalf("read %d MiB of an answer for one document", n>>20)
	}
}
