package redismq_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
)

// TestCutOffOwnerStopsBeforeTakeover: member A is cut off from Redis while
// handling key k, with more of k prefetched and fetched longer than the
// visibility timeout ago (so the next owner's idle check alone would not
// hold it back). A must cancel its handler on k before its lease can
// expire and B can take the partition over: B never starts k while A's
// handler runs.
func TestCutOffOwnerStopsBeforeTakeover(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	const params = "?partitions=1&visibility_timeout=2s&heartbeat_interval=100ms&block=100ms&ack_interval=20ms&dial_timeout=300ms&read_timeout=300ms&write_timeout=300ms"
	px := testserver.NewRedisProxy(t, r.Addr) // A's path to Redis; B's is direct
	a := open(t, "redis://"+px.Addr()+"/0"+params)
	b := open(t, r.URL+params)
	var aRunning atomic.Bool
	var aStopped atomic.Int64
	started := make(chan struct{})
	var once sync.Once
	subA, err := a.Subscribe(context.Background(), "f", "g", func(ctx context.Context, m *mq.Message) error {
		aRunning.Store(true)
		once.Do(func() { close(started) })
		<-ctx.Done() // honours its context, as the contract asks
		aRunning.Store(false)
		aStopped.Store(time.Now().UnixNano())
		return ctx.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer subA.Shutdown(context.Background())
	for i := 0; i < 5; i++ {
		if err := b.Publish(context.Background(), &mq.Message{Topic: "f", Key: "k", Payload: []byte{byte('0' + i)}}); err != nil {
			t.Fatal(err)
		}
	}
	<-started
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	waitFor(t, "A's entries to be idle past the visibility timeout", func() bool {
		pend, err := rdb.XPendingExt(context.Background(), &redis.XPendingExtArgs{Stream: "mq:{f/0}", Group: "g", Start: "-", End: "+", Count: 10}).Result()
		if err != nil || len(pend) == 0 {
			return false
		}
		for _, e := range pend {
			if e.Idle <= 2*time.Second {
				return false
			}
		}
		return true
	})
	px.Cut()
	cutAt := time.Now()
	var overlap atomic.Bool
	var bStart atomic.Int64
	subB, err := b.Subscribe(context.Background(), "f", "g", func(ctx context.Context, m *mq.Message) error {
		bStart.CompareAndSwap(0, time.Now().UnixNano())
		if aRunning.Load() {
			overlap.Store(true)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer subB.Close()
	waitFor(t, "B to start on k", func() bool { return bStart.Load() != 0 })
	waitFor(t, "A's handler to stop", func() bool { return aStopped.Load() != 0 })
	t.Logf("cut at 0; B started k at %v; A's handler on k stopped at %v",
		time.Duration(bStart.Load()-cutAt.UnixNano()), time.Duration(aStopped.Load()-cutAt.UnixNano()))
	if overlap.Load() {
		t.Error("key k ran on two members at once: B started it while A's handler was still running")
	}
}
