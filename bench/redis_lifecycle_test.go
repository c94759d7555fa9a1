package bench

import (
	"context"
	"strconv"
	"testing"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/redismq"
)

// The lifecycle of a Redis group member at the provider's defaults (8
// partitions, block=1s, visibility_timeout=30s, heartbeat every 3s): what
// a program pays to leave and to join. Each op is one Close or one join;
// the setup around it runs with the timer stopped.

func noop(context.Context, *mq.Message) error { return nil }

func openDefault(b *testing.B, r *testserver.Redis) *mq.Client { return openURL(b, r.URL) }

func openURL(b *testing.B, url string) *mq.Client {
	c, err := mq.Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkRedisSubscriptionClose: one op is Subscription.Close of a member
// that owns every partition of its topic, idle, its readers blocked in
// XREADGROUP.
func BenchmarkRedisSubscriptionClose(b *testing.B) {
	r := testserver.StartRedis(b, nil)
	c := openDefault(b, r)
	defer c.Close()
	t := redisTopic(b, r, "close")
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, err := c.Subscribe(ctx, t, "g"+strconv.Itoa(i), noop)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedisClientClose: one op is Client.Close of a client with n
// idle subscriptions, each owning every partition of its own topic, with
// go-redis's default pool (10 connections per CPU) and with one sized for
// n × 8 blocked reads (pool_size=64).
func BenchmarkRedisClientClose(b *testing.B) {
	for _, bc := range []struct {
		n     int
		query string
	}{{1, ""}, {3, ""}, {3, "?pool_size=64"}} {
		name := "subscriptions=" + strconv.Itoa(bc.n)
		if bc.query != "" {
			name += "/pool_size=64"
		}
		b.Run(name, func(b *testing.B) {
			n := bc.n
			r := testserver.StartRedis(b, nil)
			t := redisTopic(b, r, "client-close")
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				c := openURL(b, r.URL+bc.query)
				for j := range n {
					if _, err := c.Subscribe(ctx, t+"-"+strconv.Itoa(j), "g"+strconv.Itoa(i), noop); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				if err := c.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRedisJoin: one op is the Subscribe of a second member to a group
// whose first member owns every partition, in the same process: it returns
// once the newcomer owns its share, handed over by the first.
func BenchmarkRedisJoin(b *testing.B) {
	r := testserver.StartRedis(b, nil)
	c := openDefault(b, r)
	defer c.Close()
	t := redisTopic(b, r, "join")
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		g := "g" + strconv.Itoa(i)
		first, err := c.Subscribe(ctx, t, g, noop)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		second, err := c.Subscribe(ctx, t, g, noop)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		_ = first.Close()
		_ = second.Close()
		b.StartTimer()
	}
}
