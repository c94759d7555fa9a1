package cache

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Conditional fills. A load reads the system of record, which a writer
// may change (and then Set or Delete the key) while the load runs; were
// the load to store what it read unconditionally, the old value would
// overwrite the writer's, or fill the place its Delete emptied, for a
// whole TTL. So a load first takes a lease in the entry's place
// (lease.lua), and stores its value only if the lease is still there
// (fill.lua): any write in between replaced the lease and wins. A
// refresh ahead fills only if the entry it refreshes is still there; a
// write-through Set puts a write marker in the entry's place before it
// saves, and stores its value only if the marker is still there —
// otherwise another write overlapped it (or removed the marker) and a
// fresh marker takes the key's place until it expires, since which of
// the two the store kept last is unknown, and a load meanwhile may have
// read either.
//
// Heads (kind and 8-byte id) are compared, not whole values: every write
// has a fresh random id. A lease that expires before its load ends fails
// the fill (a miss, never a stale value).

var (
	//go:embed scripts/lease.lua
	leaseLua    string
	leaseScript = redis.NewScript(leaseLua)

	//go:embed scripts/fill.lua
	fillLua    string
	fillScript = redis.NewScript(fillLua)
)

// leaseGrace is how much longer than the load timeout a lease or write
// marker lives: past it, a fill fails.
const leaseGrace = time.Second

// leaseTTL is how long a lease or a write marker lives.
func (c *Cache[V]) leaseTTL() time.Duration { return c.o.loadTimeout + leaseGrace }

// leaseResult is what takeLease found.
type leaseResult int

const (
	leased  leaseResult = iota // fill under the lease returned
	writing                    // a write-through save is under way: load, do not fill
	present                    // an entry appeared meanwhile: look again
)

// takeLease takes (or shares) a load lease on key; stale is the head of a
// stale entry the caller found there, which the lease may replace.
func (c *Cache[V]) takeLease(ctx context.Context, key, stale string) (string, leaseResult, error) {
	mine := makeHead(kindLease, newWriteID())
	res, err := leaseScript.Run(ctx, c.rdb, []string{c.redisKey(key)}, mine, c.leaseTTL().Milliseconds(), stale).Text()
	switch {
	case err != nil:
		return "", 0, fmt.Errorf("cache: lease on %q: %w", key, err)
	case res == "w":
		return "", writing, nil
	case res == "v":
		return "", present, nil
	case len(res) == headLen && res[0] == kindLease:
		return res, leased, nil
	}
	return "", 0, fmt.Errorf("%w: lease on %q: unexpected reply %q", ErrInvalid, key, res)
}

// Outcomes of fillIf.
const (
	fillRefused  = 0
	fillDone     = 1
	fillConflict = 2 // another write overlapped: a fresh write marker replaced it
)

// fillIf writes raw (or deletes the key, raw nil) for ttl only if the key
// still has head expect. With markOnConflict, a key with another head
// gets a fresh write marker for the lease ttl instead, so that no load
// caches a value until the overlapping writes have settled. A change is
// announced as write. The script is idempotent (see fill.lua), so
// go-redis may retry it.
func (c *Cache[V]) fillIf(ctx context.Context, key, expect string, raw []byte, ttl time.Duration, markOnConflict bool, write uint64) (int, error) {
	marker, head := "", ""
	if markOnConflict {
		marker = makeHead(kindWriting, newWriteID())
	}
	if len(raw) >= headLen {
		head = string(raw[:headLen])
	}
	if raw == nil {
		raw = []byte{}
	}
	n, err := fillScript.Run(ctx, c.rdb, []string{c.redisKey(key)},
		expect, raw, max(ttl.Milliseconds(), 1), marker, c.leaseTTL().Milliseconds(),
		c.channel(), c.message(write, msgKey, key), head).Int()
	if err != nil {
		return fillRefused, fmt.Errorf("cache: fill %q: %w", key, err)
	}
	return n, nil
}
