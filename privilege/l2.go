package privilege

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// l2 is the decision cache shared by every engine on one store, in Redis,
// and the messenger that tells them of new versions. It is a cache only:
// the store stays the authority, so any Redis error makes the check fall
// through to the store (counted in privilege.l2.errors), never a permit
// Redis could not vouch for.
//
// Keys: ns + version + ":" + the hex SHA-256 of the length-prefixed
// subject, resource and action (no two requests share one; a user cannot
// choose a key), where ns is the prefix and the store's id (see
// Identified). One key per call, so it works on a Cluster.
type l2 struct {
	rdb     redis.UniversalClient
	ns      string // prefix + store id + ":", or the prefix alone for a store without an id
	ttl     time.Duration
	timeout time.Duration
	errs    atomic.Int64

	announce chan struct{} // a new version to publish (size 1: coalesced)
}

func newL2(o *options, storeID string) *l2 {
	ns := o.redisPrefix
	if storeID != "" {
		ns += storeID + ":"
	}
	return &l2{rdb: o.rdb, ns: ns, ttl: o.l2TTL, timeout: o.redisTimeout, announce: make(chan struct{}, 1)}
}

// channel carries the store's new versions: one per store, so engines on
// another store sharing the prefix are not woken by them.
func (c *l2) channel() string { return c.ns + "changed" }

func (c *l2) key(v uint64, k l1Key) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, f := range [...]string{k.subject, k.resource, k.action} {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(f)))])
		h.Write([]byte(f))
	}
	return c.ns + strconv.FormatUint(v, 10) + ":" + hex.EncodeToString(h.Sum(nil))
}

// get returns the cached decision of k at v and the grant expiry it
// relied on. A miss, a timeout and an error all fall through to the store.
func (c *l2) get(ctx context.Context, v uint64, k l1Key) (Decision, time.Time, bool) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	b, err := c.rdb.Get(ctx, c.key(v, k)).Bytes()
	if err != nil {
		if !errors.Is(err, redis.Nil) {
			c.errs.Add(1)
		}
		return Decision{}, time.Time{}, false
	}
	d, until, ok := decodeL2(b)
	if !ok {
		c.errs.Add(1)
		return Decision{}, time.Time{}, false
	}
	d.Version = v
	return d, until, true
}

// put caches d under k at v, for the L2 TTL or until validUntil if sooner.
func (c *l2) put(ctx context.Context, v uint64, k l1Key, d Decision, now, validUntil time.Time) {
	ttl := c.ttl
	if !validUntil.IsZero() {
		if left := validUntil.Sub(now); left < ttl {
			ttl = left
		}
	}
	if ttl < time.Millisecond { // PX counts milliseconds
		return
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.rdb.Set(ctx, c.key(v, k), encodeL2(d, validUntil), ttl).Err(); err != nil {
		c.errs.Add(1)
	}
}

// encodeL2: allowed (1 byte), the grant expiry in Unix nanoseconds (0:
// none), then role, policy id and reason, each length-prefixed.
func encodeL2(d Decision, validUntil time.Time) []byte {
	b := make([]byte, 0, 16+len(d.Role)+len(d.PolicyID)+len(d.Reason))
	if d.Allowed {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	var until int64
	if !validUntil.IsZero() {
		until = validUntil.UnixNano()
	}
	b = binary.AppendVarint(b, until)
	for _, s := range [...]string{d.Role, d.PolicyID, d.Reason} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

func decodeL2(b []byte) (Decision, time.Time, bool) {
	var d Decision
	if len(b) < 1 || b[0] > 1 {
		return d, time.Time{}, false
	}
	d.Allowed = b[0] == 1
	b = b[1:]
	until, n := binary.Varint(b)
	if n <= 0 {
		return d, time.Time{}, false
	}
	b = b[n:]
	var validUntil time.Time
	if until != 0 {
		validUntil = time.Unix(0, until)
	}
	var fields [3]string
	for i := range fields {
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return d, time.Time{}, false
		}
		fields[i] = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	if len(b) != 0 {
		return d, time.Time{}, false
	}
	d.Role, d.PolicyID, d.Reason = fields[0], fields[1], fields[2]
	return d, validUntil, true
}

// publish announces the engine's known version on the channel whenever
// its store's Watch raised it, until ctx ends. Announcements coalesce:
// the latest known version is what is sent.
func (c *l2) publish(ctx context.Context, known *atomic.Uint64) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.announce:
		}
		pctx, cancel := context.WithTimeout(ctx, c.timeout)
		if err := c.rdb.Publish(pctx, c.channel(), strconv.FormatUint(known.Load(), 10)).Err(); err != nil && ctx.Err() == nil {
			c.errs.Add(1) // the other instances learn it within the staleness bound
		}
		cancel()
	}
}

// subscribe hints t of every version other instances announce, until
// ctx ends: a newer one makes the next check read the store's version
// (an announcement is never decided at: see tracker.hint). A (re)subscription makes t stale: announcements made while
// the subscription was down are lost, so the next check reads the store.
func (c *l2) subscribe(ctx context.Context, t *tracker, subscribed func(), onMessage func(string)) {
	ps := c.rdb.Subscribe(ctx, c.channel())
	defer ps.Close()
	ch := ps.ChannelWithSubscriptions(redis.WithChannelSize(1000))
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			switch m := m.(type) {
			case *redis.Subscription:
				t.stale()
				if subscribed != nil {
					subscribed()
				}
			case *redis.Message:
				if v, err := strconv.ParseUint(m.Payload, 10, 64); err == nil {
					t.hint(v)
				}
				if onMessage != nil {
					onMessage(m.Payload)
				}
			}
		}
	}
}
