package lock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/lock"
)

// TestJoinOfAnEndedLock: Join of a lock already released or lost returns
// a context that has ended when Join returns, with the lock's cause; not
// one that is live for a while, letting work start without the lock.
func TestJoinOfAnEndedLock(t *testing.T) {
	rdb := client(t, testserver.StartRedis(t, nil).Addr)
	l := lock.New(rdb)
	ctx := context.Background()

	released, err := l.Obtain(ctx, "join-ended", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := released.Release(ctx); err != nil {
		t.Fatal(err)
	}
	j, stop := released.Join(ctx)
	defer stop()
	if j.Err() == nil || context.Cause(j) != context.Cause(released.Context()) {
		t.Errorf("Join of a released lock: err %v, cause %v: want ended, with the lock's cause", j.Err(), context.Cause(j))
	}

	lost, err := l.Obtain(ctx, "join-ended", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	rdb.Del(ctx, "lock:{join-ended}")
	if err := lost.Refresh(ctx, 10*time.Second); !errors.Is(err, lock.ErrNotHeld) {
		t.Fatalf("Refresh of a wiped lock: %v", err)
	}
	j, stop = lost.Join(ctx)
	defer stop()
	if j.Err() == nil || !errors.Is(context.Cause(j), lock.ErrLost) {
		t.Errorf("Join of a lost lock: err %v, cause %v: want ended, the cause wrapping ErrLost", j.Err(), context.Cause(j))
	}
}
