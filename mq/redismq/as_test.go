package redismq_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
)

// TestSubscriptionAsNothing: a subscription reads through the client's
// go-redis client, so it hands out nothing; Client.As gives that client,
// as the package doc says.
func TestSubscriptionAsNothing(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	c := open(t, r.URL)
	sub, err := c.Subscribe(context.Background(), "as-topic", "as-group", func(context.Context, *mq.Message) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var rdb redis.UniversalClient
	if sub.As(&rdb) || rdb != nil {
		t.Error("Subscription.As(*redis.UniversalClient) = true, want false: Client.As has it")
	}
	if !c.As(&rdb) || rdb == nil {
		t.Error("Client.As(*redis.UniversalClient) = false, want the client")
	}
}
