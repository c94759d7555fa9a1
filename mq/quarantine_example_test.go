package mq_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/resilience"
)

// A buffered message that the broker refuses for good, and its dead-letter
// topic too, waits in the quarantine instead of holding up the buffer;
// once the cause is fixed, RedriveQuarantined publishes it again.
func ExampleClient_RedriveQuarantined() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "mq-quarantine")
	defer os.RemoveAll(dir)
	quiet := slog.New(slog.DiscardHandler)
	client, _ := mq.Open(ctx, "mem://example-quarantine", mq.WithOutageBuffer(dir), mq.WithLogger(quiet),
		mq.WithBreaker(resilience.BreakerPolicy{OpenTimeout: 10 * time.Millisecond}))
	defer client.Close()
	got := make(chan string, 3)
	sub, _ := client.Subscribe(ctx, "events", "audit", func(_ context.Context, m *mq.Message) error {
		got <- string(m.Payload)
		return nil
	})
	defer sub.Close()

	// Both topics take at most 100 bytes (ID included), and the broker is
	// down.
	broker := outage(client, true)
	broker.SetTopicMaxMessageBytes("events", 100)
	broker.SetTopicMaxMessageBytes("events.dlq", 100)
	for _, p := range []string{"small", strings.Repeat("large", 20), "small again"} {
		_ = client.Publish(ctx, &mq.Message{Topic: "events", Payload: []byte(p)})
	}
	broker.SetReachable(true)
	fmt.Println(<-got, "/", <-got)
	for client.Buffered() > 0 {
		time.Sleep(time.Millisecond)
	}
	q, _ := client.Quarantined(ctx)
	fmt.Println("quarantined:", len(q), len(q[0].Message.Payload), "bytes")

	broker.SetTopicMaxMessageBytes("events", 0) // the limit is raised
	n, _ := client.RedriveQuarantined(ctx)
	fmt.Println("redriven:", n, "arrived:", len(<-got), "bytes")
	// Output:
	// small / small again
	// quarantined: 1 100 bytes
	// redriven: 1 arrived: 100 bytes
}
