package rocketmq_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/rocketmq"
)

// Example opens RocketMQ by URL: the blank import
//
//	import _ "github.com/groundwork-go/groundwork/mq/rocketmq"
//
// registers rocketmq://. A deployment names its name servers; no RocketMQ
// runs here, so the example opens lazily (mq.WithLazyConnect: nothing is
// sent until the first call) and shows that a mistyped parameter is an
// error rather than a silent default.
func Example() {
	ctx := context.Background()
	_, err := mq.Open(ctx, "rocketmq://10.0.0.1:9876?queus=8", mq.WithLazyConnect())
	fmt.Println(errors.Is(err, mq.ErrBadURL))

	client, err := mq.Open(ctx, "rocketmq://10.0.0.1:9876;10.0.0.2:9876?producer_group=shop&queues=8&send_timeout=2s",
		mq.WithLazyConnect())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	fmt.Println("opened")
	// Output:
	// true
	// opened
}
