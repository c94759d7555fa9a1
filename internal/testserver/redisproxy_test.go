package testserver

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRedisProxy: the proxy forwards, loses exactly the reply it is armed
// for (after the server acted), and cuts every connection on Cut.
func TestRedisProxy(t *testing.T) {
	r := StartRedis(t, nil)
	p := NewRedisProxy(t, r.Addr)
	direct := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer direct.Close()
	rdb := redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1})
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Set(ctx, "a", "1", 0).Err(); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}

	dropped := p.DropReply(Drop{Command: func(cmd []byte) bool { return contains(string(cmd), "incr") }})
	if err := rdb.Get(ctx, "a").Err(); err != nil {
		t.Fatalf("a command the drop does not pick: %v", err)
	}
	if err := rdb.Incr(ctx, "a").Err(); !errors.Is(err, io.EOF) {
		t.Fatalf("INCR whose reply is lost: %v, want EOF", err)
	}
	<-dropped
	if v, _ := direct.Get(ctx, "a").Result(); v != "2" {
		t.Fatalf("a = %q, want 2: the server acted on the command whose reply was lost", v)
	}
	if v, err := rdb.Incr(ctx, "a").Result(); err != nil || v != 3 {
		t.Fatalf("INCR after the drop: %v, %v; want 3: a drop is lost once", v, err)
	}

	p.Cut()
	if err := rdb.Get(ctx, "a").Err(); err == nil {
		t.Fatal("a command after Cut reached the server")
	}
}

// TestRedisProxyHold: a held command reaches the server only after its
// client closed the connection and Release was called.
func TestRedisProxyHold(t *testing.T) {
	r := StartRedis(t, nil)
	p := NewRedisProxy(t, r.Addr)
	direct := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer direct.Close()
	ctx := context.Background()
	held := p.Hold(func(cmd []byte) bool { return contains(string(cmd), "late") })
	rdb := redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1, ReadTimeout: 100 * time.Millisecond})
	if err := rdb.Set(ctx, "late", "1", 0).Err(); err == nil {
		t.Fatal("a held command was answered")
	}
	<-held.Holding()
	rdb.Close()
	if n, _ := direct.Exists(ctx, "late").Result(); n != 0 {
		t.Fatal("the held command reached the server before Release")
	}
	held.Release()
	<-held.Answered()
	if v, _ := direct.Get(ctx, "late").Result(); v != "1" {
		t.Fatalf("late = %q after Release, want 1", v)
	}
}
