package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/lock"
)

// redisClient returns a client for GROUNDWORK_REDIS_URL, or for an
// embedded Redis (miniredis) when it is unset; close the returned func.
func redisClient() (*redis.Client, func(), error) {
	if u := os.Getenv("GROUNDWORK_REDIS_URL"); u != "" {
		opts, err := redis.ParseURL(u)
		if err != nil {
			return nil, nil, err
		}
		rdb := redis.NewClient(opts)
		return rdb, func() { rdb.Close() }, nil
	}
	mr, err := miniredis.Run()
	if err != nil {
		return nil, nil, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	return rdb, func() { rdb.Close(); mr.Close() }, nil
}

func locks(ctx context.Context) error {
	fmt.Println("\n== lock: Redis locks with fencing tokens")
	rdb, done, err := redisClient()
	if err != nil {
		return err
	}
	defer done()
	locker := lock.New(rdb)

	section("one holder at a time; each holder gets a larger fencing token")
	first, err := locker.Obtain(ctx, "invoice:42", 5*time.Second, lock.WithWatchdog(), lock.WithMetadata("tour, first holder"))
	if err != nil {
		return err
	}
	fmt.Printf("   first holder: token %d\n", first.Token())
	// The second caller retries for a moment (each wait counts in the
	// lock.obtain.retries metric), then gives up.
	wait, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = locker.Obtain(wait, "invoice:42", 5*time.Second, lock.WithRetry(lock.LinearRetry(10*time.Millisecond)))
	cancel()
	if errors.Is(err, lock.ErrNotObtained) {
		holder, _ := locker.Holder(ctx, "invoice:42")
		fmt.Printf("   a second caller retries for 50ms, then gives up: held by %q\n", holder)
	}
	if err := first.Release(ctx); err != nil {
		return err
	}
	return locker.Do(ctx, "invoice:42", 5*time.Second, func(ctx context.Context, lk *lock.Lock) error {
		fmt.Printf("   after Release, Do runs its work holding the lock (a watchdog keeps it): token %d for the store's write\n", lk.Token())
		return nil
	})
}
