package kafkamq_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/kafkamq"
)

// Example opens Kafka by URL: the blank import
//
//	import _ "github.com/groundwork-go/groundwork/mq/kafkamq"
//
// registers kafka://. A deployment names its brokers
// ("kafka://broker1:9092,broker2:9092?acks=all&linger=5ms"); here an
// in-process cluster (franz-go's kfake) stands in for them, so that the
// example runs without a server.
func Example() {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()

	ctx := context.Background()
	client, err := mq.Open(ctx, "kafka://"+strings.Join(cluster.ListenAddrs(), ",")+"?acks=all&linger=5ms&client_id=shop")
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

// ExampleNew wraps a kgo client the application built itself (TLS, SASL,
// its own logger...). The caller keeps it, and closes it after the
// mq.Client. Client.As hands out the native clients, here kadm to look at
// the topic Subscribe created with Options.Partitions partitions.
func ExampleNew() {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		log.Fatal(err)
	}
	defer cluster.Close()

	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ClientID("shop"))
	if err != nil {
		log.Fatal(err)
	}
	defer cl.Close()
	conn, err := kafkamq.New(cl, &kafkamq.Options{Partitions: 3})
	if err != nil {
		log.Fatal(err)
	}
	client, err := mq.NewClient(conn)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	sub, err := client.Subscribe(ctx, "invoices", "archive", func(context.Context, *mq.Message) error { return nil })
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()

	var adm *kadm.Client
	if !client.As(&adm) {
		log.Fatal("no kadm client")
	}
	topics, err := adm.ListTopics(ctx, "invoices")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("invoices partitions:", len(topics["invoices"].Partitions))
	// Output: invoices partitions: 3
}
