package cache

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Tags. Each tag has a version in Redis (<prefix>t:{tag}) and an index
// of the entries written under it (<prefix>t:{tag}:keys, same slot). An
// entry records the versions its tags had when it was written and is
// valid while they still have them; InvalidateTags gives each tag a new
// version in one script, which makes every entry under the tag stale at
// once on every instance and in any Redis topology (a Cluster cannot
// delete keys of many slots in one script), then deletes the indexed
// entries and announces the tag so that instances drop their local
// copies. Versions are random, not counters, so that a version lost with
// its key (expired, evicted) never comes back to revalidate old entries;
// a missing version makes entries under it stale.

var (
	//go:embed scripts/tag_version.lua
	tagVersionLua    string
	tagVersionScript = redis.NewScript(tagVersionLua)

	//go:embed scripts/tag_invalidate.lua
	tagInvalidateLua    string
	tagInvalidateScript = redis.NewScript(tagInvalidateLua)
)

func newTagVersion() string { return fmt.Sprintf("%016x", newWriteID()) }

// tagVersions returns the current version of each tag, registering key
// (to live ttl) in each tag's index.
func (c *Cache[V]) tagVersions(ctx context.Context, key string, tags []string, ttl time.Duration) ([]tagVersion, error) {
	calls := make([]scriptCall, len(tags))
	for i, t := range tags {
		calls[i] = scriptCall{keys: []string{c.tagKey(t), c.tagIndexKey(t)},
			args: []any{newTagVersion(), c.redisKey(key), max(ttl.Milliseconds(), 1)}}
	}
	res, err := runScripts(ctx, c.rdb, tagVersionScript, calls)
	if err != nil {
		return nil, fmt.Errorf("tag versions: %w", err)
	}
	out := make([]tagVersion, len(tags))
	for i, t := range tags {
		v, _ := res[i].(string)
		if len(v) != tagVersionLen {
			return nil, fmt.Errorf("tag %q has a malformed version %q (not written by this package?)", t, v)
		}
		out[i] = tagVersion{tag: t, version: v}
	}
	return out, nil
}

// tagsCurrentInRedis reports whether every tag still has the version the
// entry recorded.
func (c *Cache[V]) tagsCurrentInRedis(ctx context.Context, tags []tagVersion) (bool, error) {
	pipe := c.rdb.Pipeline()
	gets := make([]*redis.StringCmd, len(tags))
	for i, t := range tags {
		gets[i] = pipe.Get(ctx, c.tagKey(t.tag))
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return false, fmt.Errorf("tag versions: %w", err)
	}
	for i, t := range tags {
		if gets[i].Val() != t.version {
			return false, nil
		}
	}
	return true, nil
}

// localTagVersions gives tags versions for a cache without Redis, where
// tagSeen is the authority.
func (c *Cache[V]) localTagVersions(tags []string) []tagVersion {
	if len(tags) == 0 {
		return nil
	}
	c.tagMu.Lock()
	defer c.tagMu.Unlock()
	out := make([]tagVersion, len(tags))
	for i, t := range tags {
		v, ok := c.tagSeen[t]
		if !ok {
			v = newTagVersion()
			c.tagSeen[t] = v
		}
		out[i] = tagVersion{tag: t, version: v}
	}
	return out
}

// localTagsCurrent reports whether no tag of e has been invalidated
// since e was written, as far as this instance has heard.
func (c *Cache[V]) localTagsCurrent(e *entry[V]) bool {
	if len(e.tags) == 0 {
		return true
	}
	c.tagMu.RLock()
	defer c.tagMu.RUnlock()
	for _, t := range e.tags {
		if v, ok := c.tagSeen[t.tag]; ok && v != t.version {
			return false
		}
	}
	return true
}

// learnTags records the versions of e's tags, just read from (or written
// to) Redis, as the newest known; called under fillMu with no invalidation
// received since the read began, so none of them is older than one heard.
func (c *Cache[V]) learnTags(e *entry[V]) {
	if len(e.tags) == 0 {
		return
	}
	c.tagMu.Lock()
	defer c.tagMu.Unlock()
	for _, t := range e.tags {
		if _, ok := c.tagSeen[t.tag]; ok {
			c.tagSeen[t.tag] = t.version
		}
	}
}

// maxTagsSeen bounds tagSeen; past it, the map and the local layers are
// emptied together (forgetting a version would revive stale copies).
const maxTagsSeen = 100_000

// tagInvalidated records tag's new version and drops the local copies
// written under older ones.
//
// Under the epochs' lock, so that no fill of a read that began before
// (and saw the old version) can record that version after this one.
func (c *Cache[V]) tagInvalidated(tag, version string) {
	c.ep.mu.Lock()
	defer c.ep.mu.Unlock()
	c.ep.tags.Add(1) // stop fills of tagged reads that began before
	c.tagMu.Lock()
	full := len(c.tagSeen) >= maxTagsSeen
	if full {
		clear(c.tagSeen)
	}
	c.tagSeen[tag] = version
	c.tagMu.Unlock()
	if full {
		c.purgeLocked()
	}
}

// InvalidateTags removes every entry set with any of tags, on every
// instance. Per tag it is atomic: one script makes all the tag's entries
// stale at once, on every instance's next Redis read; instances drop
// their local copies when the announcement arrives (as for Set). The
// stale entries are then deleted from Redis; one re-written during the
// call may be deleted too (a miss, not a stale read).
func (c *Cache[V]) InvalidateTags(ctx context.Context, tags ...string) error {
	if c.closed.Load() {
		return ErrClosed
	}
	for _, t := range tags {
		if t == "" {
			return fmt.Errorf("%w: InvalidateTags: empty tag", ErrInvalid)
		}
	}
	if len(tags) == 0 {
		return nil
	}
	versions := make([]string, len(tags))
	calls := make([]scriptCall, len(tags))
	for i, t := range tags {
		versions[i] = newTagVersion()
		calls[i] = scriptCall{keys: []string{c.tagKey(t), c.tagIndexKey(t)}, args: []any{versions[i], c.o.ttl.Milliseconds()}}
	}
	if c.rdb == nil {
		for i, t := range tags {
			c.tagInvalidated(t, versions[i])
		}
		return nil
	}
	res, err := runScripts(ctx, c.rdb, tagInvalidateScript, calls)
	if err != nil {
		return fmt.Errorf("cache: invalidate tags: %w", err)
	}
	pipe := c.rdb.Pipeline()
	for i, t := range tags {
		c.tagInvalidated(t, versions[i])
		pipe.Publish(ctx, c.channel(), c.message(newWriteID(), msgTag, versions[i]+t))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("cache: invalidate tags: announce: %w", err)
	}
	// The entries are stale already; deleting them only frees memory.
	var keys []string
	for _, r := range res {
		ks, _ := r.([]any)
		for _, k := range ks {
			if s, ok := k.(string); ok {
				keys = append(keys, s)
			}
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		pipe := c.rdb.Pipeline()
		for _, k := range keys[:n] {
			pipe.Del(ctx, k) // one by one: a Cluster spreads them over slots
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("cache: invalidate tags: delete stale entries: %w", err)
		}
		keys = keys[n:]
	}
	return nil
}

// scriptCall is one run of a script.
type scriptCall struct {
	keys []string
	args []any
}

// runScripts runs script once per call in one pipeline (EVALSHA), loading
// it and running again what failed with NOSCRIPT.
func runScripts(ctx context.Context, rdb redis.UniversalClient, s *redis.Script, calls []scriptCall) ([]any, error) {
	pipe := rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(calls))
	for i, call := range calls {
		cmds[i] = s.EvalSha(ctx, pipe, call.keys, call.args...)
	}
	_, _ = pipe.Exec(ctx)
	out := make([]any, len(calls))
	for i, cmd := range cmds {
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			cmd = s.Run(ctx, rdb, calls[i].keys, calls[i].args...)
		}
		if err := cmd.Err(); err != nil {
			return nil, err
		}
		out[i] = cmd.Val()
	}
	return out, nil
}
