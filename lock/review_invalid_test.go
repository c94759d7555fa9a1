package lock_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/lock"
)

// noPanic runs f and turns a panic into an error.
func noPanic(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panicked: %v", p)
		}
	}()
	return f()
}

// TestLockNotFromObtain: a zero or nil Lock (not returned by Obtain) is
// bad input: Refresh, Release and TTL say ErrInvalid, and Context is an
// ended context with that cause, as Join's is; nothing panics.
func TestLockNotFromObtain(t *testing.T) {
	ctx := context.Background()
	for name, lk := range map[string]*lock.Lock{"zero": new(lock.Lock), "nil": nil} {
		check := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, lock.ErrInvalid) {
				t.Errorf("%s Lock: %s: %v, want ErrInvalid", name, what, err)
			}
		}
		check("Refresh", noPanic(func() error { return lk.Refresh(ctx, time.Second) }))
		check("Release", noPanic(func() error { return lk.Release(ctx) }))
		check("TTL", noPanic(func() error { _, err := lk.TTL(ctx); return err }))
		check("Context", noPanic(func() error {
			c := lk.Context()
			if c == nil || c.Err() == nil {
				return fmt.Errorf("Context %v: want an ended context", c)
			}
			return context.Cause(c)
		}))
	}
}

// TestLockerNotFromNew: a zero or nil Locker is ErrInvalid from Obtain,
// Do and Holder alike (# Errors), not a panic or a free lock.
func TestLockerNotFromNew(t *testing.T) {
	ctx := context.Background()
	fn := func(context.Context, *lock.Lock) error { return nil }
	for name, l := range map[string]*lock.Locker{"zero": new(lock.Locker), "nil": nil} {
		for what, call := range map[string]func() error{
			"Obtain": func() error { _, err := l.Obtain(ctx, "k", time.Second); return err },
			"Do":     func() error { return l.Do(ctx, "k", time.Second, fn) },
			"Holder": func() error { _, err := l.Holder(ctx, "k"); return err },
		} {
			if err := noPanic(call); !errors.Is(err, lock.ErrInvalid) || !strings.Contains(err.Error(), "New or NewRedlock") {
				t.Errorf("%s Locker: %s: %v, want ErrInvalid saying to use New or NewRedlock", name, what, err)
			}
		}
	}
}
