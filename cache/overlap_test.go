package cache_test

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/cache"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

// Overlapping writes and retried scripts: the cache and the store must
// end up agreeing.

// hookStore is a store whose Save of a value can run a hook before and
// after the value is stored.
type hookStore struct {
	mu            sync.Mutex
	saved         map[string]int
	before, after map[int]func()
}

func (s *hookStore) Save(_ context.Context, batch map[string]int) error {
	for _, v := range batch {
		s.mu.Lock()
		f := s.before[v]
		s.mu.Unlock()
		if f != nil {
			f()
		}
	}
	s.mu.Lock()
	for k, v := range batch {
		s.saved[k] = v
	}
	s.mu.Unlock()
	for _, v := range batch {
		s.mu.Lock()
		f := s.after[v]
		s.mu.Unlock()
		if f != nil {
			f()
		}
	}
	return nil
}

func (s *hookStore) load(key string) func(context.Context) (int, error) {
	return loadFrom(&s.mu, &s.saved, key)
}

// TestWriteThroughOverlapThenFailedFill: two write-through Sets overlap:
// Set(1) saves 1, Set(2) puts its marker; Set(1)'s fill finds the other
// marker. It once deleted it, so that a reader on another instance took
// a lease, loaded 1 from the store and cached it; then Set(2) saved 2
// and its fill failed on its caller's cancelled ctx: Redis kept 1 for the
// whole TTL while the store held 2. Now the conflict leaves a fresh
// marker (the reader loads, does not cache) and the fill after the save
// outlives the caller's ctx.
func TestWriteThroughOverlapThenFailedFill(t *testing.T) {
	rdb := rclient(t, testserver.StartRedis(t, nil).Addr)
	ctx := context.Background()
	store := &hookStore{saved: map[string]int{}, before: map[int]func(){}, after: map[int]func(){}}
	c := newCache[int](t, rdb, cache.WithStore[int](store))
	reader := newCache[int](t, rdb, cache.WithLocal(0, 0))

	oneSaved, releaseOne := make(chan struct{}), make(chan struct{})
	store.after[1] = func() { close(oneSaved); <-releaseOne }
	setOne := make(chan error, 1)
	go func() { setOne <- c.Set(ctx, "a", 1) }()
	<-oneSaved // 1 is in the store; Set(1) has not filled yet

	ctx2, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	var readerGot int
	var readerErr error
	store.before[2] = func() { // Set(2)'s marker is in place, 2 not saved yet
		close(releaseOne)
		if err := <-setOne; err != nil { // Set(1)'s fill deletes Set(2)'s marker
			readerErr = err
			return
		}
		readerGot, readerErr = reader.GetOrLoad(ctx, "a", store.load("a"))
	}
	store.after[2] = func() { cancel2() } // the caller of Set(2) goes away
	setErr := c.Set(ctx2, "a", 2)
	if readerErr != nil || readerGot != 1 {
		t.Fatalf("setup: reader loaded %d %v, want 1", readerGot, readerErr)
	}
	if v, _ := store.load("a")(ctx); v != 2 {
		t.Fatalf("setup: store holds %d", v)
	}
	if v, err := reader.Get(ctx, "a"); err == nil && v != 2 {
		ttl := rdb.PTTL(ctx, "cache:k:a").Val()
		t.Fatalf("Redis serves %d for another %v while the store holds 2 (Set(2) returned %v)", v, ttl.Round(time.Second), setErr)
	}
	if v, err := reader.GetOrLoad(ctx, "a", store.load("a")); err != nil || v != 2 {
		t.Fatalf("GetOrLoad after the overlap: %d %v, want 2", v, err)
	}
}

// pauseAfterSet is a go-redis hook that, once armed, blocks the pipeline
// writing key with a payload ending in suffix after Redis took it.
type pauseAfterSet struct {
	key            string
	suffix         []byte
	armed          atomic.Bool
	paused, resume chan struct{}
}

func (h *pauseAfterSet) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *pauseAfterSet) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *pauseAfterSet) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			args := cmd.Args()
			if cmd.Name() != "set" || len(args) < 3 || args[1] != h.key {
				continue
			}
			if raw, ok := args[2].([]byte); ok && bytes.HasSuffix(raw, h.suffix) && h.armed.CompareAndSwap(true, false) {
				close(h.paused)
				<-h.resume
			}
		}
		return err
	}
}

// TestWriteBehindOverlappingSetsAgree: two write-behind Sets of one key
// in one process overlap: Set(1) is in Redis, not queued yet, when Set(2)
// starts. Nothing once ordered the two steps across Sets, so Redis took
// 1 then 2 and the queue 2 then 1: the cache served 2 while the store
// ended with 1. Set(2) must now wait for Set(1) to be queued.
func TestWriteBehindOverlappingSetsAgree(t *testing.T) {
	addr := testserver.StartRedis(t, nil).Addr
	rdb := rclient(t, addr)
	hook := &pauseAfterSet{key: "cache:k:a", suffix: []byte{0, 0, '1'}, paused: make(chan struct{}), resume: make(chan struct{})}
	rdb.AddHook(hook)
	ctx := context.Background()
	store := &hookStore{saved: map[string]int{}}
	c := newCache[int](t, rdb, cache.WithWriteBehind[int](store, 100, time.Hour))
	reader := newCache[int](t, rclient(t, addr), cache.WithLocal(0, 0))

	hook.armed.Store(true)
	one := make(chan error, 1)
	go func() { one <- c.Set(ctx, "a", 1) }()
	<-hook.paused // 1 is in Redis, not queued yet
	waiting := make(chan struct{})
	var once sync.Once
	cache.OnBehindWait(c, func(string) { once.Do(func() { close(waiting) }) })
	two := make(chan error, 1)
	go func() { two <- c.Set(ctx, "a", 2) }()
	select {
	case <-waiting: // Set(2) waits for Set(1)
	case err := <-two: // Set(2) overtook Set(1)
		two <- err
	}
	close(hook.resume)
	if err := <-one; err != nil {
		t.Fatal(err)
	}
	if err := <-two; err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil { // saves what waits
		t.Fatal(err)
	}
	saved, _ := store.load("a")(ctx)
	cached, err := reader.Get(ctx, "a")
	if err == nil && cached != saved {
		t.Fatalf("after overlapping write-behind Sets the cache serves %d, the store holds %d", cached, saved)
	}
}

// retryScripts is a go-redis hook that runs every script publishing on
// channel (fill.lua) twice, as go-redis's own retry does when the reply
// is lost (a read timeout is retried by default: MaxRetries 3).
type retryScripts struct{ channel string }

func (h retryScripts) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h retryScripts) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h retryScripts) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		if (cmd.Name() == "evalsha" || cmd.Name() == "eval") && slices.Contains(args, any(h.channel)) {
			_ = next(ctx, cmd) // the reply is "lost"
		}
		return next(ctx, cmd)
	}
}

// TestRetriedFillIsIdempotent: a retried fill.lua finds the value its
// first run stored; it once took it for another write's and deleted it,
// so that a lone write-through Set left its key uncached. A retried load
// fill must keep its value too.
func TestRetriedFillIsIdempotent(t *testing.T) {
	addr := testserver.StartRedis(t, nil).Addr
	rdb := rclient(t, addr)
	rdb.AddHook(retryScripts{channel: "cache:__invalidate"})
	ctx := context.Background()
	store := &hookStore{saved: map[string]int{}}
	c := newCache[int](t, rdb, cache.WithStore[int](store))
	reader := newCache[int](t, rclient(t, addr), cache.WithLocal(0, 0))
	if err := c.Set(ctx, "a", 5); err != nil {
		t.Fatal(err)
	}
	if v, err := reader.Get(ctx, "a"); err != nil || v != 5 {
		t.Fatalf("a lone write-through Set whose fill was retried: Get = %d %v, want 5", v, err)
	}
	if v, err := c.GetOrLoad(ctx, "b", func(context.Context) (int, error) { return 6, nil }); err != nil || v != 6 {
		t.Fatalf("GetOrLoad: %d %v", v, err)
	}
	if v, err := reader.Get(ctx, "b"); err != nil || v != 6 {
		t.Fatalf("a load whose fill was retried: Get = %d %v, want 6", v, err)
	}
}
