package bench

import (
	"context"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	gocache "github.com/eko/gocache/lib/v4/cache"
	gocachemarshal "github.com/eko/gocache/lib/v4/marshaler"
	gocachestore "github.com/eko/gocache/lib/v4/store"
	gocacheredis "github.com/eko/gocache/store/redis/v4"
	rediscache "github.com/go-redis/cache/v9"
	"github.com/redis/go-redis/v9"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/groundwork-go/groundwork/cache"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

type product struct {
	ID    int
	Name  string
	Price float64
	Tags  []string
}

func newProduct(i int) product {
	return product{ID: i, Name: fmt.Sprint("product ", i), Price: float64(i) + 0.99, Tags: []string{"a", "b", "c"}}
}

// msgpackCodec is groundwork's Codec on the encoding the peers use.
type msgpackCodec struct{}

func (msgpackCodec) Marshal(v any) ([]byte, error)   { return msgpack.Marshal(v) }
func (msgpackCodec) Unmarshal(b []byte, v any) error { return msgpack.Unmarshal(b, v) }

// getter is one library's read of key into a value of the benchmark's
// type; it fails unless the key is there.
type getter func(ctx context.Context, key string) error

const cacheKeys = 1000

// l2Getters sets cacheKeys keys through each library (L1 off everywhere:
// every read goes to Redis) and returns their reads.
func l2Getters[V any](b *testing.B, rdb *redis.Client, value func(i int) V) map[string]getter {
	ctx := context.Background()
	gw, err := cache.New[V](rdb, cache.WithLocal(0, 0), cache.WithPrefix("gw:"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { gw.Close() })
	gwm, err := cache.New[V](rdb, cache.WithLocal(0, 0), cache.WithPrefix("gwm:"), cache.WithCodec(msgpackCodec{}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { gwm.Close() })
	rc := rediscache.New(&rediscache.Options{Redis: rdb})
	gc := gocachemarshal.New(gocache.New[any](gocacheredis.NewRedis(rdb)))
	for i := range cacheKeys {
		k, v := fmt.Sprint(i), value(i)
		must(b, gw.Set(ctx, k, v))
		must(b, gwm.Set(ctx, k, v))
		must(b, rc.Set(&rediscache.Item{Ctx: ctx, Key: "rc:" + k, Value: v, TTL: time.Hour}))
		must(b, gc.Set(ctx, "gc:"+k, v, gocachestore.WithExpiration(time.Hour)))
	}
	return map[string]getter{
		"groundwork": func(ctx context.Context, k string) error { _, err := gw.Get(ctx, k); return err },
		"groundwork-msgpack": func(ctx context.Context, k string) error {
			_, err := gwm.Get(ctx, k)
			return err
		},
		"go-redis-cache": func(ctx context.Context, k string) error {
			var v V
			return rc.Get(ctx, "rc:"+k, &v)
		},
		"gocache": func(ctx context.Context, k string) error {
			var v V
			_, err := gc.Get(ctx, "gc:"+k, &v)
			return err
		},
	}
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCacheL2Hit: reads that hit Redis (no local layer), 64
// goroutines over 1,000 keys on one redis-server, for a small struct and
// for 1 KiB []byte values. go-redis/cache and gocache encode with
// msgpack; groundwork with JSON by default, and with msgpack as
// "groundwork-msgpack".
func BenchmarkCacheL2Hit(b *testing.B) {
	r := testserver.StartRedis(b, nil)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr, PoolSize: 64})
	defer rdb.Close()
	names := []string{"groundwork", "groundwork-msgpack", "go-redis-cache", "gocache"}
	run := func(kind string, getters map[string]getter) {
		for _, name := range names {
			get := getters[name]
			b.Run(kind+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetParallelism(32)
				b.RunParallel(func(pb *testing.PB) {
					ctx := context.Background()
					i := rand.Intn(cacheKeys)
					for pb.Next() {
						i = (i + 7) % cacheKeys
						if err := get(ctx, fmt.Sprint(i)); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "gets/s")
			})
		}
	}
	run("struct", l2Getters(b, rdb, newProduct))
	blob := make([]byte, 1024)
	rand.New(rand.NewSource(1)).Read(blob) // incompressible: go-redis/cache compresses with s2
	run("bytes1k", l2Getters(b, rdb, func(int) []byte { return blob }))
}

// zipfStream is the key stream every library sees: Zipf(1.1) over
// 100,000 keys, fixed seed.
func zipfStream(n int) []string {
	z := rand.NewZipf(rand.New(rand.NewSource(1)), 1.1, 1, 100_000-1)
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint("k", z.Uint64())
	}
	return out
}

// BenchmarkCacheZipfHitRatio: the local layer alone, 1,000 entries, on a
// Zipf(1.1) stream; a miss is followed by a Set. The figure is hit% (an
// op is one access); groundwork's L1 is golang-lru's LRU, ristretto's
// TinyLFU admission keeps the frequent keys against one-off ones.
func BenchmarkCacheZipfHitRatio(b *testing.B) {
	const capacity = 1000
	stream := zipfStream(1 << 20)
	ctx := context.Background()
	b.Run("groundwork", func(b *testing.B) {
		c, err := cache.New[int](nil, cache.WithLocal(capacity, time.Hour))
		must(b, err)
		defer c.Close()
		hitRatio(b, stream, func(k string) bool {
			_, err := c.Get(ctx, k)
			return err == nil
		}, func(k string, v int) { must(b, c.Set(ctx, k, v)) })
	})
	// ristretto applies Sets asynchronously and drops some under load;
	// "ristretto-wait" waits for each, measuring its policy alone.
	for _, wait := range []bool{false, true} {
		name := "ristretto"
		if wait {
			name = "ristretto-wait"
		}
		b.Run(name, func(b *testing.B) {
			c, err := ristretto.NewCache(&ristretto.Config[string, int]{NumCounters: 10 * capacity, MaxCost: capacity,
				BufferItems: 64, IgnoreInternalCost: true})
			must(b, err)
			defer c.Close()
			hitRatio(b, stream, func(k string) bool {
				_, ok := c.Get(k)
				return ok
			}, func(k string, v int) {
				c.Set(k, v, 1)
				if wait {
					c.Wait()
				}
			})
		})
	}
}

// hitRatio plays stream against get, calling set on each miss, and
// reports the share of hits.
func hitRatio(b *testing.B, stream []string, get func(k string) bool, set func(k string, v int)) {
	hits, i := 0, 0
	for b.Loop() {
		k := stream[i%len(stream)]
		i++
		if get(k) {
			hits++
			continue
		}
		set(k, i)
	}
	b.ReportMetric(100*float64(hits)/float64(i), "hit%")
}
