package logship

import (
	"testing"
	"time"
)

// TestReviewIndexerHungStore: a store that accepts a bulk request and
// never answers (stopped, a half-open connection) held the worker for
// ever — the request ran under the Indexer's own context, ended only by
// Shutdown — so the Indexer stopped indexing. Each bulk request is now
// bounded by WithIndexerRequestTimeout, then retried like any failure.
func TestReviewIndexerHungStore(t *testing.T) {
	esLeakCheck(t)
	tg := esTargets(t)[0]
	d := tg.double
	d.Hang(1)
	c := esMemClient(t)
	esStartIndexer(t, c, tg.es, WithIndexerWorkers(1), WithIndexerRequestTimeout(50*time.Millisecond))
	esPublish(t, c, "logs", esRecord("h1", "svc", time.Now(), "m"), esRecord("h2", "svc", time.Now(), "m"))
	esWait(t, "both documents past the hung request", func() bool { return d.Count("logs-*") == 2 })
}

// TestReviewIndexerCloseHungStore: Close (no deadline) with a bulk
// request hanging waited for ever: the subscription waits for its
// handlers, the handlers for the request, and the request ended only
// after the subscription's Shutdown returned.
func TestReviewIndexerCloseHungStore(t *testing.T) {
	esLeakCheck(t)
	tg := esTargets(t)[0]
	d := tg.double
	d.Hang(-1)
	c := esMemClient(t)
	ix := esStartIndexer(t, c, tg.es, WithIndexerRequestTimeout(50*time.Millisecond))
	esPublish(t, c, "logs", esRecord("k1", "svc", time.Now(), "m"))
	esWait(t, "a bulk request hanging", func() bool { n, _ := d.Bulks(); return n >= 1 })
	closed := make(chan error, 1)
	go func() { closed <- ix.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close still waiting after 30s for a store that never answers")
	}
	d.Hang(0)
	esStartIndexer(t, c, tg.es)
	esWait(t, "the document after the restart", func() bool { return d.Count("logs-*") == 1 })
}
