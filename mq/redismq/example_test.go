package redismq_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/redismq"
)

// One go-redis client, configured by one URL, serves mq and whatever else
// of the application talks to Redis (lock.New(rdb), cache.New[V](rdb),
// ...). Here the Redis is an embedded one; point the URL at yours.
func Example() {
	mr, err := miniredis.Run()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mr.Close()
	ctx := context.Background()

	ropts, opts, err := redismq.ParseURL("redis://" + mr.Addr() + "/0?partitions=2&block=100ms&pool_size=16")
	if err != nil {
		fmt.Println(err)
		return
	}
	rdb := redis.NewUniversalClient(ropts)
	defer rdb.Close()
	conn, err := redismq.New(rdb, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := mq.NewClient(conn)
	if err != nil {
		fmt.Println(err)
		return
	}

	got := make(chan string, 1)
	_, err = client.Subscribe(ctx, "orders", "billing", func(_ context.Context, m *mq.Message) error {
		got <- fmt.Sprintf("billing got %s: %s", m.Key, m.Payload)
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := client.Publish(ctx, &mq.Message{Topic: "orders", Key: "order-42", Payload: []byte(`{"total":12.5}`)}); err != nil {
		fmt.Println(err)
		return
	}
	select {
	case s := <-got:
		fmt.Println(s)
	case <-time.After(10 * time.Second):
		fmt.Println("no message")
	}
	_ = client.Close() // closes sub too; leaves rdb open
	fmt.Println("rdb still open:", rdb.Ping(ctx).Err() == nil)
	// Output:
	// billing got order-42: {"total":12.5}
	// rdb still open: true
}
