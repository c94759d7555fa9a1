package cache

import (
	"cmp"
	"container/heap"
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// HotKey is a key the hot-key detector counts among the most read.
type HotKey struct {
	Key string
	// Reads is the estimated number of reads in the current window; it
	// may overcount by up to Error.
	Reads, Error int64
}

// hotKeys detects heavy hitters: a space-saving summary (Metwally et al.)
// per half window, the current one and the previous one, so that counts
// cover between one half and one whole window. Each summary keeps
// 4×top counters, which makes the top keys' counts close to exact for
// skewed streams.
type hotKeys struct {
	top int

	mu        sync.Mutex
	cur, prev *spaceSaving

	// hot is the set of keys found hot at the last tick, read without a
	// lock on every access.
	hot atomic.Pointer[map[string]struct{}]
}

// minHotReads is how often a key must be read in the window to count as
// hot: a key read once is not worth holding.
const minHotReads = 2

func newHotKeys(top int) *hotKeys {
	h := &hotKeys{top: top, cur: newSpaceSaving(4 * top), prev: newSpaceSaving(4 * top)}
	h.hot.Store(&map[string]struct{}{})
	return h
}

// record counts one read of key.
func (h *hotKeys) record(key string) {
	h.mu.Lock()
	h.cur.add(key)
	h.mu.Unlock()
}

func (h *hotKeys) isHot(key string) bool {
	_, ok := (*h.hot.Load())[key]
	return ok
}

// rotate starts a new half window.
func (h *hotKeys) rotate() {
	h.mu.Lock()
	h.prev, h.cur = h.cur, h.prev
	h.cur.reset()
	h.mu.Unlock()
}

// refresh recomputes the hot set and returns it.
func (h *hotKeys) refresh() map[string]struct{} {
	set := map[string]struct{}{}
	for _, k := range h.topK() {
		set[k.Key] = struct{}{}
	}
	h.hot.Store(&set)
	return set
}

// topK merges the two halves' counts and returns the top keys read at
// least minHotReads times, most read first.
func (h *hotKeys) topK() []HotKey {
	h.mu.Lock()
	merged := make(map[string]HotKey, len(h.cur.items)+len(h.prev.items))
	for _, s := range []*spaceSaving{h.prev, h.cur} {
		for _, it := range s.items {
			k := merged[it.key]
			k.Key, k.Reads, k.Error = it.key, k.Reads+it.count, k.Error+it.err
			merged[it.key] = k
		}
	}
	h.mu.Unlock()
	out := make([]HotKey, 0, len(merged))
	for _, k := range merged {
		if k.Reads >= minHotReads {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b HotKey) int {
		return cmp.Or(cmp.Compare(b.Reads, a.Reads), strings.Compare(a.Key, b.Key))
	})
	return out[:min(len(out), h.top)]
}

// spaceSaving keeps at most size counters; a new key takes over the
// smallest one, inheriting its count as its possible overcount.
type spaceSaving struct {
	size  int
	index map[string]*ssItem
	items ssHeap // min-heap on count
}

type ssItem struct {
	key        string
	count, err int64
	pos        int
}

func newSpaceSaving(size int) *spaceSaving {
	return &spaceSaving{size: size, index: make(map[string]*ssItem, size)}
}

func (s *spaceSaving) add(key string) {
	if it, ok := s.index[key]; ok {
		it.count++
		heap.Fix(&s.items, it.pos)
		return
	}
	if len(s.items) < s.size {
		it := &ssItem{key: key, count: 1}
		s.index[key] = it
		heap.Push(&s.items, it)
		return
	}
	it := s.items[0]
	delete(s.index, it.key)
	it.key, it.err = key, it.count
	it.count++
	s.index[key] = it
	heap.Fix(&s.items, 0)
}

func (s *spaceSaving) reset() {
	clear(s.index)
	s.items = s.items[:0]
}

type ssHeap []*ssItem

func (h ssHeap) Len() int           { return len(h) }
func (h ssHeap) Less(i, j int) bool { return h[i].count < h[j].count }
func (h ssHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pos, h[j].pos = i, j
}
func (h *ssHeap) Push(x any) {
	it := x.(*ssItem)
	it.pos = len(*h)
	*h = append(*h, it)
}
func (h *ssHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// HotKeys returns the keys the hot-key detector counts as hot now, most
// read first; nil without WithHotKeys.
func (c *Cache[V]) HotKeys() []HotKey {
	if c.hot == nil {
		return nil
	}
	return c.hot.topK()
}

// watchHotKeys recomputes the hot set every quarter window, starts a new
// half window every other time, and drops keys no longer hot from the
// hot layer.
func (c *Cache[V]) watchHotKeys(ctx context.Context) {
	t := time.NewTicker(c.o.hotWindow / 4)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n%2 == 0 {
			c.hot.rotate()
		}
		hot := c.hot.refresh()
		for _, k := range c.hotL.Keys() {
			if _, ok := hot[k]; !ok {
				c.hotL.Remove(k)
			}
		}
	}
}
