package cache

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/resilience"
)

// Cross-instance invalidation. Every write (Set, Delete, a load) publishes
// a message naming the key on the channel <prefix>__invalidate in the same
// pipeline as the write, InvalidateTags one naming the tag and its new
// version; every instance subscribes and drops what the message names
// from its local layers. A Pub/Sub channel rather than server-assisted
// client-side caching (CLIENT TRACKING): tracking needs RESP3 or a
// redirect connection per client, broadcast mode has every node of a
// Cluster push every key under the prefix, and it tells instances about
// keys they never cached and nothing about tags; the channel carries
// exactly the writes this package makes, works the same on standalone,
// Sentinel and Cluster (PUBLISH reaches every node's subscribers), and
// needs no server configuration.
//
// Pub/Sub does not deliver what was published while a subscriber was
// disconnected, so the local layers are filled only while the
// subscription is live, and emptied each time it is re-established.

func (c *Cache[V]) channel() string { return c.o.prefix + "__invalidate" }

// Message kinds.
const (
	msgKey = 'k' // the name is a key
	msgTag = 't' // the name is a tag's new version (16 hex digits) then the tag
)

// message encodes "<instance>\x00<write id, 16 hex digits>\x00<kind><name>".
func (c *Cache[V]) message(write uint64, kind byte, name string) string {
	return fmt.Sprintf("%s\x00%016x\x00%c%s", c.id, write, kind, name)
}

type invalidation struct {
	from  string
	write uint64
	kind  byte
	name  string
}

// parseMessage decodes a message; anyone may publish on the channel, so
// ok is false for anything malformed.
func parseMessage(s string) (m invalidation, ok bool) {
	from, rest, ok1 := strings.Cut(s, "\x00")
	id, rest, ok2 := strings.Cut(rest, "\x00")
	if !ok1 || !ok2 || len(id) != 16 || len(rest) < 2 {
		return m, false
	}
	w, err := strconv.ParseUint(id, 16, 64)
	if err != nil {
		return m, false
	}
	m = invalidation{from: from, write: w, kind: rest[0], name: rest[1:]}
	switch m.kind {
	case msgKey:
		return m, true
	case msgTag:
		return m, len(m.name) > tagVersionLen
	}
	return m, false
}

// listen runs until Close, which closes ps: go-redis does not interrupt a
// blocked Receive on ctx, only on Close.
func (c *Cache[V]) listen(ctx context.Context, ps *redis.PubSub) {
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
				c.o.logger.Warn("cache: invalidation channel failed; local layers paused until it is back", "err", err)
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
			c.purgeLocal()
			c.subscribed.Store(true)
			if failing {
				c.o.logger.Info("cache: invalidation channel back; local layers emptied")
				failing = false
				bo.Reset()
			}
		case *redis.Message:
			inv, ok := parseMessage(m.Payload)
			if !ok || inv.from == c.id {
				continue
			}
			if inv.kind == msgTag {
				c.tagInvalidated(inv.name[tagVersionLen:], inv.name[:tagVersionLen])
			} else {
				c.invalidate(inv.name)
			}
			c.seen.Add(inv.write, struct{}{})
			c.stats.invalidations.Add(1)
		}
	}
}
