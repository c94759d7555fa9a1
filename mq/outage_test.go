package mq_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/resilience"
)

var quiet = mq.WithLogger(slog.New(slog.DiscardHandler))

// TestOutageBufferSurvivesClientRestart: what a Client could not send
// before it was shut down stays on disk, and the next Client on the same
// directory sends it, in order.
func TestOutageBufferSurvivesClientRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	broker := memmq.NewBroker(nil)
	open := func() *mq.Client {
		c, err := mq.NewClient(memmq.New(broker), mq.WithOutageBuffer(dir), quiet,
			mq.WithBreaker(resilience.BreakerPolicy{OpenTimeout: 10 * time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	reader, err := mq.NewClient(memmq.New(broker), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	got := make(chan string, 10)
	sub, err := reader.Subscribe(ctx, "t", "g", func(_ context.Context, m *mq.Message) error {
		got <- string(m.Payload)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	first := open()
	broker.SetReachable(false)
	for i := range 5 {
		if err := first.Publish(ctx, &mq.Message{Topic: "t", Key: "k", Payload: []byte(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	expired, cancel := context.WithCancel(ctx)
	cancel()
	if err := first.Shutdown(expired); err == nil {
		t.Fatal("Shutdown left 5 messages on disk but reported no error")
	}
	broker.SetReachable(true)
	second := open()
	defer second.Close()
	for i := range 5 {
		select {
		case p := <-got:
			if p != strconv.Itoa(i) {
				t.Fatalf("message %d is %q: order lost across the restart", i, p)
			}
		case <-time.After(time.Minute):
			t.Fatalf("message %d never arrived after the restart", i)
		}
	}
}

func TestOutageBufferFull(t *testing.T) {
	ctx := context.Background()
	broker := memmq.NewBroker(nil)
	c, err := mq.NewClient(memmq.New(broker), mq.WithOutageBuffer(t.TempDir()), mq.WithOutageBufferMaxBytes(4096), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker.SetReachable(false)
	var perr error
	n := 0
	for ; n < 100 && perr == nil; n++ {
		perr = c.Publish(ctx, &mq.Message{Topic: "t", Payload: make([]byte, 500)})
	}
	if !errors.Is(perr, mq.ErrBufferFull) || n < 2 {
		t.Fatalf("after %d publishes: %v, want ErrBufferFull", n, perr)
	}
	broker.SetReachable(true)
}

// TestNonRetryableErrorIsNotBuffered: an error about the message itself
// must reach the caller even with a buffer, never be buffered and retried.
func TestNonRetryableErrorIsNotBuffered(t *testing.T) {
	broker := memmq.NewBroker(&memmq.Options{MaxMessageBytes: 100})
	c, err := mq.NewClient(memmq.New(broker), mq.WithOutageBuffer(t.TempDir()), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Publish(context.Background(), &mq.Message{Topic: "t", Payload: make([]byte, 200)})
	if !errors.Is(err, mq.ErrTooLarge) || c.Buffered() != 0 {
		t.Fatalf("oversized message: %v, buffered %d", err, c.Buffered())
	}
}
