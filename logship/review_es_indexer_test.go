package logship

import (
	"context"
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

// TestReviewIndexerCrashRestart: an Indexer killed mid-run (its Shutdown
// abandons what runs), a store that stored a request and cut the answer,
// the same events published twice: another Indexer in the group finishes,
// and the store holds each distinct event once (_id = event id).
func TestReviewIndexerCrashRestart(t *testing.T) {
	esLeakCheck(t)
	tg := esTargets(t)[0]
	d := tg.double
	c := esMemClient(t)
	ids := esIDs("cr", 60)
	var recs []Record
	for _, id := range ids {
		recs = append(recs, esRecord(id, "svc", time.Now(), "m"))
	}
	d.Drop(1)
	first := esStartIndexer(t, c, tg.es)
	esPublish(t, c, "logs", recs[:40]...)
	esWait(t, "some documents", func() bool { return d.Count("logs-*") >= 10 })
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	_ = first.Shutdown(expired)      // a crash: what runs is abandoned
	esPublish(t, c, "logs", recs...) // the producer's retry: 40 duplicates
	esStartIndexer(t, c, tg.es)
	esStartIndexer(t, c, tg.es) // two in the group
	esWait(t, "every event", func() bool { return d.Count("logs-*") >= len(ids) })
	if n := d.Count("logs-*"); n != len(ids) {
		t.Fatalf("%d documents for %d distinct events", n, len(ids))
	}
}
