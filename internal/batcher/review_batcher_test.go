package batcher

import (
	"context"
	"errors"
	"testing"
)

// TestReviewShutdownDuringFailingWrite: Shutdown is called while the
// writer is in a write that then fails for good. Those items were queued
// before Shutdown and are not written: Shutdown must say so.
func TestReviewShutdownDuringFailingWrite(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	r := &rec{fail: func(Batch[int]) error {
		select {
		case <-entered:
		default:
			close(entered)
			<-release
		}
		return Permanent(errors.New("refused"))
	}}
	b := newB(t, Options{Size: 1}, r)
	b.Add(1) // a full batch: the writer takes it and holds in the write
	<-entered
	res := make(chan error, 1)
	go func() { res <- b.Shutdown(context.Background()) }()
	<-b.stop // Shutdown has begun; item 1 was queued before it
	close(release)
	if err := <-res; err == nil {
		t.Fatal("Shutdown returned nil; an item queued before it was not written")
	}
	if _, failed, _ := b.Counts(); failed != 1 {
		t.Fatalf("failed %d, want 1", failed)
	}
}

// TestReviewQueueBoundWhileWriting: while the writer is slow, the items
// held (queued plus the batch being written) stay within Queue + Size:
// the writer must not take the whole queue at once and let Add fill it
// again.
func TestReviewQueueBoundWhileWriting(t *testing.T) {
	entered, release := make(chan struct{}, 10), make(chan struct{})
	r := &rec{fail: func(Batch[int]) error {
		entered <- struct{}{}
		<-release
		return nil
	}}
	b := newB(t, Options{Size: 2, Queue: 4}, r)
	b.Add(0)
	b.Add(1) // full: the writer takes [0 1] and holds
	<-entered
	for i := 2; i < 6; i++ {
		b.Add(i) // the queue fills: 2..5
	}
	release <- struct{}{} // [0 1] written; the writer takes the next batch and holds
	<-entered
	for i := 6; i < 20; i++ {
		b.Add(i)
	}
	dropped, _, written := b.Counts()
	if held := 20 - dropped - written; held > 4+2 {
		t.Fatalf("%d items held (dropped %d, written %d): over the queue (4) plus a batch (2)", held, dropped, written)
	}
	close(release)
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
