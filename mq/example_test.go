package mq_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/memmq" // registers mem://
	"github.com/groundwork-go/groundwork/resilience"
)

func Example() {
	ctx := context.Background()
	client, err := mq.Open(ctx, "mem://example")
	if err != nil {
		panic(err)
	}
	defer client.Close()

	done := make(chan struct{})
	sub, err := client.Subscribe(ctx, "orders", "billing", func(ctx context.Context, m *mq.Message) error {
		fmt.Printf("billing got %s: %s\n", m.Key, m.Payload)
		close(done)
		return nil
	})
	if err != nil {
		panic(err)
	}
	defer sub.Close()

	err = client.Publish(ctx, &mq.Message{Topic: "orders", Key: "order-42", Payload: []byte(`{"total":12.5}`)})
	if err != nil {
		panic(err)
	}
	<-done
	// Output: billing got order-42: {"total":12.5}
}

// A failing handler is retried with backoff; after the last attempt the
// message goes to the dead-letter topic with headers saying why.
func ExampleWithMaxAttempts() {
	ctx := context.Background()
	client, _ := mq.Open(ctx, "mem://example-dlq")
	defer client.Close()

	dead := make(chan *mq.Message, 1)
	dlq, _ := client.Subscribe(ctx, "emails.dlq", "ops", func(_ context.Context, m *mq.Message) error {
		dead <- m
		return nil
	})
	defer dlq.Close()
	sub, _ := client.Subscribe(ctx, "emails", "sender", func(_ context.Context, m *mq.Message) error {
		fmt.Println("attempt", m.Attempt)
		return errors.New("smtp: 451 try later")
	}, mq.WithMaxAttempts(3), mq.WithRedeliveryBackoff(resilience.RetryPolicy{InitialInterval: time.Millisecond}))
	defer sub.Close()

	_ = client.Publish(ctx, &mq.Message{Topic: "emails", Key: "user-7"})
	m := <-dead
	fmt.Println(m.Headers[mq.HeaderDLQError], "after", m.Headers[mq.HeaderDLQAttempts], "attempts")
	// Output:
	// attempt 1
	// attempt 2
	// attempt 3
	// smtp: 451 try later after 3 attempts
}

// With an outage buffer, Publish keeps succeeding while the broker is down:
// messages wait on disk and are sent, in order, when it is back.
func ExampleWithOutageBuffer() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "mq-buffer")
	defer os.RemoveAll(dir)
	quiet := slog.New(slog.DiscardHandler)
	client, _ := mq.Open(ctx, "mem://example-outage", mq.WithOutageBuffer(dir), mq.WithLogger(quiet),
		mq.WithBreaker(resilience.BreakerPolicy{OpenTimeout: 10 * time.Millisecond}))
	defer client.Close()

	got := make(chan string, 3)
	sub, _ := client.Subscribe(ctx, "events", "audit", func(_ context.Context, m *mq.Message) error {
		got <- string(m.Payload)
		return nil
	})
	defer sub.Close()

	broker := outage(client, true)
	for _, p := range []string{"one", "two", "three"} {
		if err := client.Publish(ctx, &mq.Message{Topic: "events", Key: "k", Payload: []byte(p)}); err != nil {
			panic(err)
		}
	}
	fmt.Println("buffered during the outage:", client.Buffered())
	broker.SetReachable(true)
	fmt.Println(<-got, <-got, <-got)
	// Output:
	// buffered during the outage: 3
	// one two three
}

// A failure no retry can fix is marked Permanent: the message goes to the
// dead-letter topic after that one attempt, with the error's text.
func ExamplePermanent() {
	ctx := context.Background()
	client, _ := mq.Open(ctx, "mem://example-permanent")
	defer client.Close()
	errUnknownProduct := errors.New("unknown product")

	dead := make(chan *mq.Message, 1)
	dlq, _ := client.Subscribe(ctx, "orders.dlq", "ops", func(_ context.Context, m *mq.Message) error {
		dead <- m
		return nil
	})
	defer dlq.Close()
	sub, _ := client.Subscribe(ctx, "orders", "billing", func(_ context.Context, m *mq.Message) error {
		fmt.Println("attempt", m.Attempt)
		err := fmt.Errorf("order %s: %w", m.Key, mq.Permanent(errUnknownProduct))
		fmt.Println("still the product error:", errors.Is(err, errUnknownProduct))
		return err
	}, mq.WithMaxAttempts(5))
	defer sub.Close()

	_ = client.Publish(ctx, &mq.Message{Topic: "orders", Key: "o-17"})
	m := <-dead
	fmt.Println(m.Headers[mq.HeaderDLQError], "after", m.Headers[mq.HeaderDLQAttempts], "attempt")
	// Output:
	// attempt 1
	// still the product error: true
	// order o-17: unknown product after 1 attempt
}

// RetryAfter sets the wait before the next attempt, here the one an
// upstream service asked for, instead of the redelivery backoff; each try
// still counts towards WithMaxAttempts.
func ExampleRetryAfter() {
	ctx := context.Background()
	client, _ := mq.Open(ctx, "mem://example-retry-after")
	defer client.Close()

	done := make(chan struct{})
	sub, _ := client.Subscribe(ctx, "invoices", "mailer", func(_ context.Context, m *mq.Message) error {
		if m.Attempt == 1 {
			fmt.Println("attempt 1: rate limited")
			return mq.RetryAfter(errors.New("smtp: 421 too many messages"), 20*time.Millisecond)
		}
		fmt.Println("attempt", m.Attempt, "sent")
		close(done)
		return nil
	}, mq.WithRedeliveryBackoff(resilience.RetryPolicy{InitialInterval: time.Hour}))
	defer sub.Close()

	_ = client.Publish(ctx, &mq.Message{Topic: "invoices", Key: "inv-3"})
	<-done
	// Output:
	// attempt 1: rate limited
	// attempt 2 sent
}
