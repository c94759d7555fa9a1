package session

import (
	"encoding/json"
	"maps"
	"slices"
	"sync"
)

// principalCache maps a stored principal's JSON to its decoded form, so
// that a user's requests decode it once rather than on every request
// (decoding was a tenth of a cookie request's CPU). The mapping is a pure
// function of the JSON, so a hit can never hand one user another's
// principal. Callers get a copy: a handler that changes its Principal
// changes no other request's. It is bounded: when an entry would take it
// past principalCacheEntries entries or principalCacheBytes bytes of
// JSON, it starts over, a rare reset instead of an LRU's bookkeeping on
// every hit.
type principalCache struct {
	mu    sync.RWMutex
	m     map[string]*Principal
	bytes int
}

const (
	principalCacheEntries = 4096
	principalCacheBytes   = 4 << 20
	principalCacheMaxJSON = 16 << 10 // a larger principal is decoded every time
)

// decode returns the principal raw encodes, as a copy the caller owns.
func (c *principalCache) decode(raw string) (*Principal, error) {
	c.mu.RLock()
	p, ok := c.m[raw]
	c.mu.RUnlock()
	if ok {
		return p.clone(), nil
	}
	p = &Principal{}
	if err := json.Unmarshal([]byte(raw), p); err != nil {
		return nil, err
	}
	if len(raw) > principalCacheMaxJSON {
		return p, nil
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= principalCacheEntries || c.bytes+len(raw) > principalCacheBytes {
		c.m, c.bytes = make(map[string]*Principal), 0
	}
	if _, ok := c.m[raw]; !ok {
		c.m[raw] = p
		c.bytes += len(raw)
	}
	c.mu.Unlock()
	return p.clone(), nil
}

// clone is a deep copy of p.
func (p *Principal) clone() *Principal {
	c := *p
	c.Roles = slices.Clone(p.Roles)
	c.Permissions = slices.Clone(p.Permissions)
	c.Attrs = maps.Clone(p.Attrs)
	return &c
}
