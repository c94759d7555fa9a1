package lock_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/lock"
)

func Example() {
	mr, err := miniredis.Run() // any Redis: standalone, Sentinel or Cluster
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()

	locker := lock.New(rdb)
	lk, err := locker.Obtain(ctx, "invoice:42", 10*time.Second, lock.WithWatchdog())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("token", lk.Token())

	_, err = locker.Obtain(ctx, "invoice:42", 10*time.Second)
	fmt.Println("second holder:", errors.Is(err, lock.ErrNotObtained))

	_ = lk.Release(ctx)
	next, _ := locker.Obtain(ctx, "invoice:42", 10*time.Second)
	fmt.Println("next token", next.Token())
	_ = next.Release(ctx)
	// Output:
	// token 1
	// second holder: true
	// next token 2
}
