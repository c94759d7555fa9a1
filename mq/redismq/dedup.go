package redismq

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/mq"
)

// Dedup is an mq.DedupStore in Redis, shared by every member of a group
// in any process: one key per message ID, holding either a member's claim
// (with a lease) or the mark that the group handled the ID (with a TTL).
// Use it with any provider: mq.WithDedup(store).
type Dedup struct {
	rdb    redis.UniversalClient
	ttl    time.Duration
	lease  time.Duration
	prefix string
}

var _ mq.DedupStore = (*Dedup)(nil)

// DedupOptions configures NewDedup. The zero value (or nil) is usable.
type DedupOptions struct {
	// TTL is how long a handled ID is remembered; default 24h.
	TTL time.Duration
	// Lease is how long a claim lives unless its member marks the ID done
	// or releases it: a member that dies mid-handler blocks redeliveries
	// of that ID for at most this long. Claims are not renewed, so a
	// handler running longer, or a message whose retries (handler time
	// plus redelivery backoffs) last longer, may see a duplicate start.
	// Default 1 minute.
	Lease time.Duration
	// Prefix starts every key; default "mq:dedup:".
	Prefix string
}

// NewDedup returns a store in rdb (nil o for the defaults).
func NewDedup(rdb redis.UniversalClient, o *DedupOptions) (*Dedup, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: redismq.NewDedup: nil client", mq.ErrInvalid)
	}
	var opt DedupOptions
	if o != nil {
		opt = *o
	}
	d := &Dedup{rdb: rdb, ttl: 24 * time.Hour, lease: time.Minute, prefix: "mq:dedup:"}
	switch {
	case opt.TTL < 0 || opt.TTL > 0 && opt.TTL < time.Millisecond:
		return nil, fmt.Errorf("%w: redismq.NewDedup: TTL %v is below 1ms", mq.ErrInvalid, opt.TTL)
	case opt.Lease < 0 || opt.Lease > 0 && opt.Lease < time.Millisecond:
		return nil, fmt.Errorf("%w: redismq.NewDedup: Lease %v is below 1ms", mq.ErrInvalid, opt.Lease)
	}
	if opt.TTL > 0 {
		d.ttl = opt.TTL
	}
	if opt.Lease > 0 {
		d.lease = opt.Lease
	}
	if opt.Prefix != "" {
		d.prefix = opt.Prefix
	}
	return d, nil
}

// key is "<prefix><len(group)>:<group>:<id>": the length keeps a group
// containing ':' from reaching another group's IDs.
func (d *Dedup) key(group, id string) string {
	return d.prefix + strconv.Itoa(len(group)) + ":" + group + ":" + id
}

// Claim implements mq.DedupStore in one script run.
func (d *Dedup) Claim(ctx context.Context, group, id, owner string) (mq.DedupState, error) {
	n, err := dedupClaimScript.Run(ctx, d.rdb, []string{d.key(group, id)}, owner, d.lease.Milliseconds()).Int()
	if err != nil {
		return mq.DedupClaimed, fmt.Errorf("redismq: dedup claim: %w", err)
	}
	switch n {
	case 1:
		return mq.DedupDone, nil
	case 2:
		return mq.DedupBusy, nil
	}
	return mq.DedupClaimed, nil
}

// Done implements mq.DedupStore.
func (d *Dedup) Done(ctx context.Context, group, id string) error {
	if err := d.rdb.Set(ctx, d.key(group, id), "d", d.ttl).Err(); err != nil {
		return fmt.Errorf("redismq: dedup done: %w", err)
	}
	return nil
}

// Release implements mq.DedupStore.
func (d *Dedup) Release(ctx context.Context, group, id, owner string) error {
	if err := dedupReleaseScript.Run(ctx, d.rdb, []string{d.key(group, id)}, owner).Err(); err != nil {
		return fmt.Errorf("redismq: dedup release: %w", err)
	}
	return nil
}
