package codec_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/codec"
	_ "github.com/groundwork-go/groundwork/mq/memmq" // registers mem://
)

// OrderPlaced is the current (v2) shape; v1 had a total in cents.
type OrderPlaced struct {
	ID    string  `json:"id"`
	Total float64 `json:"total"`
}

func Example() {
	ctx := context.Background()
	reg, _ := codec.NewRegistry(codec.JSON)
	_ = codec.Register[OrderPlaced](reg, "order-placed", 2)
	_ = reg.Upcast("order-placed", 1, func(data []byte) ([]byte, error) {
		var v1 struct {
			ID    string `json:"id"`
			Cents int64  `json:"cents"`
		}
		if err := json.Unmarshal(data, &v1); err != nil {
			return nil, err
		}
		return json.Marshal(OrderPlaced{ID: v1.ID, Total: float64(v1.Cents) / 100})
	})
	if err := reg.Seal(); err != nil {
		panic(err)
	}

	client, _ := mq.Open(ctx, "mem://codec-example")
	defer client.Close()
	done := make(chan struct{})
	seen := 0
	sub, _ := client.Subscribe(ctx, "orders", "billing", codec.Handler(reg, func(_ context.Context, m *mq.Message, o OrderPlaced) error {
		fmt.Printf("%s: %.2f (sent as v%s)\n", o.ID, o.Total, m.Headers[codec.HeaderSchemaVersion])
		if seen++; seen == 2 {
			close(done)
		}
		return nil
	}))
	defer sub.Close()

	// An old producer's message, v1...
	_ = client.Publish(ctx, &mq.Message{Topic: "orders", Key: "o-1", Payload: []byte(`{"id":"o-1","cents":1250}`),
		Headers: map[string]string{codec.HeaderMessageType: "order-placed", codec.HeaderSchemaVersion: "1"}})
	// ...and a current one.
	m, _ := codec.NewMessage(reg, "orders", "o-1", "order-placed", OrderPlaced{ID: "o-1", Total: 3})
	_ = client.Publish(ctx, m)
	<-done
	// Output:
	// o-1: 12.50 (sent as v1)
	// o-1: 3.00 (sent as v2)
}

// A message the consumer cannot read, here from a newer producer, goes to
// the dead-letter topic at once, saying why.
func ExampleHandler_newerProducer() {
	ctx := context.Background()
	reg, _ := codec.NewRegistry(codec.JSON)
	_ = codec.Register[OrderPlaced](reg, "order-placed", 2)

	client, _ := mq.Open(ctx, "mem://codec-example-dlq")
	defer client.Close()
	dead := make(chan *mq.Message, 1)
	dlq, _ := client.Subscribe(ctx, "orders.dlq", "ops", func(_ context.Context, m *mq.Message) error {
		dead <- m
		return nil
	})
	defer dlq.Close()
	sub, _ := client.Subscribe(ctx, "orders", "billing", codec.Handler(reg, func(context.Context, *mq.Message, OrderPlaced) error {
		return nil
	}))
	defer sub.Close()

	_ = client.Publish(ctx, &mq.Message{Topic: "orders", Key: "o-2", ID: "m-7", Payload: []byte(`{}`),
		Headers: map[string]string{codec.HeaderMessageType: "order-placed", codec.HeaderSchemaVersion: "3"}})
	m := <-dead
	fmt.Println(m.Headers[mq.HeaderDLQError])
	fmt.Println("attempts:", m.Headers[mq.HeaderDLQAttempts])
	// Output:
	// codec: decode message m-7 as "order-placed" v3 (current v2): unreadable schema version: v3 is newer than the current v2 (from a newer producer?)
	// attempts: 1
}
