package mq_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/resilience"
)

// refusingConn is a memmq connection whose publishes to one topic fail.
type refusingConn struct {
	driver.Conn
	topic string
	err   error
	tries atomic.Int32
}

func (c *refusingConn) Publish(ctx context.Context, msgs []driver.Message) error {
	if msgs[0].Topic == c.topic {
		c.tries.Add(1)
		return c.err
	}
	return c.Conn.Publish(ctx, msgs)
}

// syncBuffer is a log destination safe for the subscription's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// deadLetters subscribes to topic's dead-letter topic through c and
// passes on what arrives (room for n), until the test ends.
func deadLetters(t *testing.T, c *mq.Client, topic string, n int) <-chan *mq.Message {
	t.Helper()
	dead := make(chan *mq.Message, n)
	sub, err := c.Subscribe(context.Background(), topic+".dlq", "ops", func(_ context.Context, m *mq.Message) error {
		dead <- m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return dead
}

// TestDeadLetterPublishFailureEnds: a dead-letter topic the broker keeps
// refusing holds up neither the key nor the subscription: the publish is
// tried as the retry policy says, then the message is handed back for
// redelivery with a log line, and the next message of the key is handled.
func TestDeadLetterPublishFailureEnds(t *testing.T) {
	conn := &refusingConn{Conn: memmq.New(memmq.NewBroker(nil)), topic: "orders.dlq",
		err: fmt.Errorf("refused: %w", driver.ErrUnreachable)}
	var logs syncBuffer
	c, err := mq.NewClient(conn, mq.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		mq.WithRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxAttempts: 3}),
		mq.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1000}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var good atomic.Bool
	sub, err := c.Subscribe(context.Background(), "orders", "g", func(_ context.Context, m *mq.Message) error {
		if string(m.Payload) == "bad" {
			return errors.New("cannot handle")
		}
		good.Store(true)
		return nil
	}, mq.WithMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	err = c.Publish(context.Background(), &mq.Message{Topic: "orders", Key: "k", Payload: []byte("bad")},
		&mq.Message{Topic: "orders", Key: "k", Payload: []byte("good")})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the message behind the one that cannot be dead-lettered", good.Load)
	waitUntil(t, "the failure in the log", func() bool { return strings.Contains(logs.String(), "dead-letter publish failed") })
	if n := conn.tries.Load(); n < 3 {
		t.Errorf("dead-letter publish tried %d times, want the retry policy's 3", n)
	}
}

// TestDeadLetterErrorTruncated: a long handler error is cut so that the
// dead-lettered message stays within the provider's size limit (the
// message itself was within it).
func TestDeadLetterErrorTruncated(t *testing.T) {
	c, err := mq.Open(context.Background(), "mem://truncate?max_message_bytes=2048")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := deadLetters(t, c, "t", 1)
	long := strings.Repeat("é", 20000) // multi-byte: the cut must not split one
	sub, err := c.Subscribe(context.Background(), "t", "g", func(context.Context, *mq.Message) error {
		return errors.New(long)
	}, mq.WithMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := c.Publish(context.Background(), &mq.Message{Topic: "t", Key: "k", Payload: bytes.Repeat([]byte("p"), 1500)}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		e := m.Headers[mq.HeaderDLQError]
		if e == "" || !strings.HasPrefix(long, e) || len(e) >= len(long) {
			t.Fatalf("error header of %d bytes, want a non-empty prefix of the %d-byte error", len(e), len(long))
		}
	case <-time.After(time.Minute):
		t.Fatal("the message never reached the dead-letter topic")
	}
}

// TestCloseFromHandler: closing the subscription or the client from inside
// a handler returns an error instead of waiting for the handler itself.
func TestCloseFromHandler(t *testing.T) {
	c, err := mq.Open(context.Background(), "mem://close-in-handler")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var sub *mq.Subscription
	ready := make(chan struct{})
	errs := make(chan error, 2)
	sub, err = c.Subscribe(context.Background(), "t", "g", func(context.Context, *mq.Message) error {
		<-ready
		errs <- sub.Close()
		errs <- c.Close()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	if err := c.Publish(context.Background(), &mq.Message{Topic: "t"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, mq.ErrInvalid) {
				t.Fatalf("Close from inside a handler: %v, want ErrInvalid", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("Close from inside a handler did not return")
		}
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("Close from outside afterwards: %v", err)
	}
}

// TestShutdownWaitsForAbandonedHandlers: past its deadline, Shutdown
// cancels the handlers' context and returns only once they returned, so
// nothing touches the broker after it.
func TestShutdownWaitsForAbandonedHandlers(t *testing.T) {
	c, err := mq.Open(context.Background(), "mem://abandon")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	started, cancelled, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var returned atomic.Bool
	sub, err := c.Subscribe(context.Background(), "t", "g", func(ctx context.Context, _ *mq.Message) error {
		close(started)
		<-ctx.Done()
		close(cancelled)
		<-release // a handler slow to notice
		returned.Store(true)
		return ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(context.Background(), &mq.Message{Topic: "t"}); err != nil {
		t.Fatal(err)
	}
	// Running before Shutdown starts: a message still on its way when
	// Shutdown stops receiving would never reach the handler.
	<-started
	expired, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sub.Shutdown(expired) }()
	<-cancelled
	close(release)
	if err := <-done; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want the deadline", err)
	}
	if !returned.Load() {
		t.Fatal("Shutdown returned before the abandoned handler did")
	}
}

// TestAbandonedClaimReleased: a handler abandoned by Shutdown gives up its
// dedup claim, so another member sharing the store handles the message
// when it is redelivered (an in-memory claim has no lease to end it).
func TestAbandonedClaimReleased(t *testing.T) {
	store, err := mq.NewMemoryDedup(100)
	if err != nil {
		t.Fatal(err)
	}
	url := "mem://abandoned-claim"
	first, err := mq.Open(context.Background(), url, mq.WithDedup(store))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	started := make(chan struct{})
	sub, err := first.Subscribe(context.Background(), "t", "g", func(ctx context.Context, _ *mq.Message) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Publish(context.Background(), &mq.Message{Topic: "t", ID: "once", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	<-started
	expired, cancel := context.WithCancel(context.Background())
	cancel()
	_ = sub.Shutdown(expired)
	second, err := mq.Open(context.Background(), url, mq.WithDedup(store))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	handled := make(chan struct{})
	sub2, err := second.Subscribe(context.Background(), "t", "g", func(context.Context, *mq.Message) error {
		close(handled)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub2.Close()
	select {
	case <-handled:
	case <-time.After(time.Minute):
		t.Fatal("the redelivered message was held up by the abandoned handler's claim")
	}
}

// TestRetryAfterShutdownSweep: a failure whose retry is armed after
// Shutdown swept the retry timers must not arm one (Shutdown would wait it
// out: an hour here); its message is handed back for the next member.
func TestRetryAfterShutdownSweep(t *testing.T) {
	c, err := mq.Open(context.Background(), "mem://sweep")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var sub *mq.Subscription
	subscribed, swept := make(chan struct{}), make(chan struct{})
	shut := make(chan error, 1)
	mq.SetTestHookSwept(func() { close(swept) })
	// Between the failure and the arming of its retry, Shutdown runs up
	// to its sweep.
	mq.SetTestHookRetry(func(time.Duration) {
		<-subscribed
		go func() { shut <- sub.Close() }()
		<-swept
	})
	defer mq.SetTestHookSwept(nil)
	defer mq.SetTestHookRetry(nil)
	sub, err = c.Subscribe(context.Background(), "t", "g", func(context.Context, *mq.Message) error {
		return errors.New("fails")
	}, mq.WithRedeliveryBackoff(resilience.RetryPolicy{InitialInterval: time.Hour, MaxInterval: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	close(subscribed)
	if err := c.Publish(context.Background(), &mq.Message{Topic: "t", Key: "k", ID: "m"}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Shutdown still waits for a retry armed after its sweep")
	}
	mq.SetTestHookSwept(nil)
	mq.SetTestHookRetry(nil)
	got := make(chan *mq.Message, 1)
	next, err := c.Subscribe(context.Background(), "t", "g", func(_ context.Context, m *mq.Message) error {
		got <- m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	if m := <-got; m.ID != "m" || m.Attempt != 2 {
		t.Fatalf("redelivered %q at attempt %d, want m at attempt 2", m.ID, m.Attempt)
	}
}
