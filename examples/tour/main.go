// Command tour walks through Groundwork's packages on embedded defaults:
// no server needed.
//
//	go run ./examples/tour
//
// It shows mq publishing and consuming, a failing handler being retried
// and dead-lettered, and the outage buffer holding messages while the
// broker is down and delivering them, in order, when it is back; then
// locks, caching, files and login sessions (CSRF, JWTs, lockout, logging
// out everywhere) and authorization (roles, CEL policies, guarded
// routes, a revoke on the next request), and grey routing (tenants to
// service versions: pins, a rollout), and log shipping (slog records
// redacted and shipped to an mq topic); and at the end the OpenTelemetry
// metrics all of it produced, with the Go runtime's (metrics.go wires the SDK).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/kafkamq"
	"github.com/groundwork-go/groundwork/mq/memmq"
	_ "github.com/groundwork-go/groundwork/mq/redismq"
	"github.com/groundwork-go/groundwork/resilience"
)

func main() {
	if _, err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "tour:", err)
		os.Exit(1)
	}
}

// brokerURL is mem:// (the in-process broker) unless GROUNDWORK_KAFKA_BROKERS
// names a Kafka cluster or GROUNDWORK_REDIS_URL a Redis server to run the
// messaging part against.
func brokerURL() string {
	if b := os.Getenv("GROUNDWORK_KAFKA_BROKERS"); b != "" {
		return "kafka://" + b
	}
	if u := os.Getenv("GROUNDWORK_REDIS_URL"); u != "" {
		return u
	}
	return "mem://tour"
}

// run walks the tour and returns the names of the metrics collected.
func run(ctx context.Context) (map[string]bool, error) {
	reader, mp, err := installMetrics()
	if err != nil {
		return nil, err
	}
	defer mp.Shutdown(ctx)
	fmt.Printf("== mq: one messaging API (here on %s)\n", brokerURL())
	for _, step := range []func(context.Context) error{publishAndConsume, retryAndDeadLetter, outageBuffer, locks, caching, files, sessions, authorization, greyRouting, logShipping} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	return printMetrics(ctx, reader)
}

func section(title string) { fmt.Printf("\n-- %s\n", title) }

func publishAndConsume(ctx context.Context) error {
	section("publish and consume: two groups each get every message; per-key order holds")
	client, err := mq.Open(ctx, brokerURL())
	if err != nil {
		return err
	}
	defer client.Close()

	var wg sync.WaitGroup
	wg.Add(6) // 3 messages × 2 groups
	for _, group := range []string{"billing", "shipping"} {
		sub, err := client.Subscribe(ctx, "orders", group, func(_ context.Context, m *mq.Message) error {
			fmt.Printf("   %-8s got %s %s\n", group, m.Key, m.Payload)
			wg.Done()
			return nil
		})
		if err != nil {
			return err
		}
		defer sub.Close()
	}
	for _, step := range []string{"created", "paid", "packed"} {
		m := &mq.Message{Topic: "orders", Key: "order-1", Payload: []byte(step)}
		if err := client.Publish(ctx, m); err != nil {
			return err
		}
	}
	wg.Wait()
	return nil
}

func retryAndDeadLetter(ctx context.Context) error {
	section("retry and dead-letter: a failing handler is retried with backoff, then parked on <topic>.dlq")
	client, err := mq.Open(ctx, brokerURL())
	if err != nil {
		return err
	}
	defer client.Close()

	dead := make(chan *mq.Message, 1)
	dlq, err := client.Subscribe(ctx, "emails.dlq", "ops", func(_ context.Context, m *mq.Message) error {
		dead <- m
		return nil
	})
	if err != nil {
		return err
	}
	defer dlq.Close()
	sub, err := client.Subscribe(ctx, "emails", "sender", func(_ context.Context, m *mq.Message) error {
		fmt.Printf("   attempt %d: sending %s ... failed\n", m.Attempt, m.Payload)
		return errors.New("smtp: 451 try again later")
	}, mq.WithMaxAttempts(3), mq.WithRedeliveryBackoff(resilience.RetryPolicy{InitialInterval: 20 * time.Millisecond}))
	if err != nil {
		return err
	}
	defer sub.Close()

	if err := client.Publish(ctx, &mq.Message{Topic: "emails", Key: "user-7", Payload: []byte("welcome mail")}); err != nil {
		return err
	}
	m := <-dead
	fmt.Printf("   dead-lettered after %s attempts from %q: %s\n",
		m.Headers[mq.HeaderDLQAttempts], m.Headers[mq.HeaderDLQTopic], m.Headers[mq.HeaderDLQError])
	return nil
}

func outageBuffer(ctx context.Context) error {
	section("outage buffer: Publish keeps working while the broker is down; nothing is lost, order is kept")
	dir, err := os.MkdirTemp("", "groundwork-tour-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The outage is staged with the in-process broker's fault switch.
	client, err := mq.Open(ctx, "mem://tour",
		mq.WithOutageBuffer(dir),
		mq.WithBreaker(resilience.BreakerPolicy{OpenTimeout: 100 * time.Millisecond}),
		mq.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	defer client.Close()

	var mu sync.Mutex
	var got []string
	all := make(chan struct{})
	sub, err := client.Subscribe(ctx, "payments", "ledger", func(_ context.Context, m *mq.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if got = append(got, string(m.Payload)); len(got) == 5 {
			close(all)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer sub.Close()

	var broker *memmq.Broker
	client.As(&broker)
	broker.SetReachable(false)
	fmt.Println("   broker is down")
	for i := 1; i <= 5; i++ {
		m := &mq.Message{Topic: "payments", Key: "account-9", Payload: fmt.Appendf(nil, "debit-%d", i)}
		if err := client.Publish(ctx, m); err != nil {
			return err
		}
	}
	fmt.Printf("   5 publishes returned nil; %d wait in the disk buffer at %s\n", client.Buffered(), dir)
	broker.SetReachable(true)
	fmt.Println("   broker is back")
	<-all
	mu.Lock()
	defer mu.Unlock()
	fmt.Printf("   ledger received, in order: %s\n", strings.Join(got, ", "))
	return nil
}
