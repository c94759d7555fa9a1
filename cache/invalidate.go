package cache

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/resilience"
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
// disconnected, so the local layers serve and fill only while the
// subscription is known to be live, and are emptied each time it is
// re-established. Known to be live: confirmed, and answering a ping
// whenever it has been silent for a while (WithInvalidationPing) — a
// half-open connection reports no error, it only stops delivering.

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

// listen keeps a subscription to the invalidation channel until Close,
// replacing it whenever it fails; while none is known to work, the local
// layers are paused (healthy is false).
func (c *Cache[V]) listen(ctx context.Context) {
	bo := retrying.NewLoopBackOff(resilience.RetryPolicy{InitialInterval: 10 * time.Millisecond, MaxInterval: time.Second})
	failing := false
	for {
		ps := c.rdb.Subscribe(ctx, c.channel())
		c.psMu.Lock()
		if ctx.Err() != nil { // Close came first: it saw no ps to close
			c.psMu.Unlock()
			_ = ps.Close()
			return
		}
		c.ps = ps
		c.psMu.Unlock()
		err := c.receive(ctx, ps, func() {
			if failing {
				c.o.logger.Info("cache: invalidation channel back; local layers emptied")
				failing = false
			}
			bo.Reset()
		})
		c.healthy.Store(false)
		_ = ps.Close()
		if ctx.Err() != nil {
			return
		}
		if !failing {
			c.o.logger.Warn("cache: invalidation channel failed; local layers paused until it is back", "err", err)
			failing = true
		}
		t := time.NewTimer(bo.NextBackOff())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}

// errNoPong: the channel stayed silent through a ping.
var errNoPong = errors.New("cache: the invalidation channel did not answer a ping")

// receive acts on what ps delivers until it fails: an error, or no answer
// to a ping sent after pingEvery of silence. A half-open connection
// delivers nothing and reports nothing; only the unanswered ping shows
// it. Pub/Sub does not deliver what was published while a subscriber was
// away, so a confirmed (re)subscription empties the local layers before
// they serve again.
func (c *Cache[V]) receive(ctx context.Context, ps *redis.PubSub, confirmed func()) error {
	pinged, subscribed := false, false
	for {
		msg, err := ps.ReceiveTimeout(ctx, c.o.pingEvery)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return err
			}
			if pinged {
				return errNoPong
			}
			pinged = true
			if err := ps.Ping(ctx); err != nil {
				return err
			}
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			c.purgeLocal()
			c.healthy.Store(true)
			subscribed = true
			confirmed()
		case *redis.Pong:
			// Replies come in order: a pong before the confirmation
			// means the SUBSCRIBE was lost.
			if !subscribed {
				return errors.New("cache: the invalidation channel answered a ping but never confirmed the subscription")
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
