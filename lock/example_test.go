package lock_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// invoices is the resource a lock guards: it remembers the highest
// fencing token it has seen and refuses a write carrying a lower one.
type invoices struct {
	mu     sync.Mutex
	fence  uint64
	status string
}

func (s *invoices) Save(ctx context.Context, status string, token uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if token < s.fence {
		return fmt.Errorf("stale token %d: %d already seen", token, s.fence)
	}
	s.fence, s.status = token, status
	return nil
}

// Do hands fn the Lock, whose fencing token the guarded store checks: a
// holder that stalled past its ttl and writes late is refused.
func ExampleLocker_Do() {
	mr, err := miniredis.Run()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	locker := lock.New(rdb)
	store := &invoices{}

	// A first holder stalls (a GC pause, a stopped VM) past its ttl:
	// Redis lets the lock go, though the holder has not looked since.
	stalled, err := locker.Obtain(ctx, "invoice:42", 10*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	mr.FastForward(11 * time.Second)

	err = locker.Do(ctx, "invoice:42", 10*time.Second, func(ctx context.Context, lk *lock.Lock) error {
		return store.Save(ctx, "paid", lk.Token())
	})
	fmt.Println("Do:", err)

	// The stalled holder wakes up and writes with its old token.
	fmt.Println("late write:", store.Save(ctx, "unpaid", stalled.Token()))
	fmt.Println("status:", store.status)
	fmt.Println("late Release:", errors.Is(stalled.Release(ctx), lock.ErrNotHeld))
	// Output:
	// Do: <nil>
	// late write: stale token 1: 2 already seen
	// status: paid
	// late Release: true
}
