package memmq_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/memmq"
)

// Example opens the in-process broker by URL: the blank import
//
//	import _ "github.com/groundwork-go/groundwork/mq/memmq"
//
// registers mem://. Clients opening the same name share one broker.
// Messages of one key reach the group in publish order.
func Example() {
	ctx := context.Background()
	client, err := mq.Open(ctx, "mem://shop?partitions=4")
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	got := make(chan *mq.Message, 3)
	sub, err := client.Subscribe(ctx, "orders", "billing", func(_ context.Context, m *mq.Message) error {
		got <- m
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()

	for _, step := range []string{"created", "paid", "shipped"} {
		err := client.Publish(ctx, &mq.Message{Topic: "orders", Key: "order-42", Payload: []byte(step)})
		if err != nil {
			log.Fatal(err)
		}
	}
	for range 3 {
		m := <-got
		fmt.Printf("%s: %s\n", m.Key, m.Payload)
	}
	// Output:
	// order-42: created
	// order-42: paid
	// order-42: shipped
}

// ExampleNew gives a Client a broker of its own, not shared by name, and
// reaches it again through Client.As. A test holding the Broker can stage
// an outage with its fault switch.
func ExampleNew() {
	ctx := context.Background()
	broker := memmq.NewBroker(&memmq.Options{Partitions: 2, MaxMessageBytes: 1 << 20})
	client, err := mq.NewClient(memmq.New(broker))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	var b *memmq.Broker
	fmt.Println(client.As(&b), b == broker)

	broker.SetReachable(false)
	fmt.Println("down:", errors.Is(client.Ping(ctx), mq.ErrUnreachable))
	broker.SetReachable(true)
	fmt.Println("up:", client.Ping(ctx))
	// Output:
	// true true
	// down: true
	// up: <nil>
}
