package cache

import (
	"context"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/resilience"
)

// Cross-instance invalidation. Every write (Set, Delete, a load) publishes
// "<instance>\x00<key>" on the channel <prefix>__invalidate in the same
// pipeline as the write; every instance subscribes and evicts the key from
// its L1. A Pub/Sub channel rather than server-assisted client-side
// caching (CLIENT TRACKING): tracking needs RESP3 or a redirect
// connection per client, broadcast mode has every node of a Cluster push
// every key under the prefix, and it tells instances about keys they never
// cached; the channel carries exactly the writes this package makes, works
// the same on standalone, Sentinel and Cluster (PUBLISH reaches every
// node's subscribers), and needs no server configuration.
//
// Pub/Sub does not deliver what was published while a subscriber was
// disconnected, so L1 is filled only while the subscription is live, and
// emptied each time it is re-established.

func (c *Cache[V]) channel() string { return c.o.prefix + "__invalidate" }

// listen runs until Close, which closes ps: go-redis does not interrupt a
// blocked Receive on ctx, only on Close.
func (c *Cache[V]) listen(ctx context.Context, ps *redis.PubSub) {
	defer c.wg.Done()
	bo := resilience.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: time.Second}.NewLoopBackOff()
	failing := false
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			// go-redis reconnects on the next Receive; until the
			// subscription is confirmed again L1 must not fill.
			c.subscribed.Store(false)
			if !failing {
				c.o.logger.Warn("cache: invalidation channel failed; L1 paused until it is back", "err", err)
				failing = true
			}
			select {
			case <-time.After(bo.NextBackOff()):
			case <-ctx.Done():
				return
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			// (Re)subscribed: anything published meanwhile was missed.
			c.l1.Purge()
			c.epoch.Add(1)
			c.subscribed.Store(true)
			if failing {
				c.o.logger.Info("cache: invalidation channel back; L1 emptied")
				failing = false
				bo.Reset()
			}
		case *redis.Message:
			from, key, ok := strings.Cut(m.Payload, "\x00")
			if !ok || from == c.id {
				continue
			}
			c.epoch.Add(1)
			c.l1.Remove(key)
			c.stats.invalidations.Add(1)
		}
	}
}
