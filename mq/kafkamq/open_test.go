package kafkamq_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/resilience"
)

// TestOpenChecksReachability: Open with nothing listening on the seed
// brokers' port fails with ErrUnreachable naming the address (a live
// cluster opening fine is what every other test does); a WithLazyConnect
// client opens anyway, and its Publish goes to the outage buffer.
func TestOpenChecksReachability(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	url := "kafka://" + addr + "?" + testParams
	ctx := context.Background()
	c, err := mq.Open(ctx, url)
	if !errors.Is(err, mq.ErrUnreachable) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Open with nothing listening: %v, %v; want ErrUnreachable naming %s", c, err, addr)
	}
	lazy, err := mq.Open(ctx, url, mq.WithLazyConnect(), mq.WithOutageBuffer(t.TempDir()), quiet,
		mq.WithRetry(resilience.RetryPolicy{MaxAttempts: 1}),
		mq.WithBreaker(resilience.BreakerPolicy{OpenTimeout: time.Hour}))
	if err != nil {
		t.Fatalf("lazy Open with nothing listening: %v", err)
	}
	defer lazy.Close()
	if err := lazy.Publish(ctx, &mq.Message{Topic: "t", Payload: []byte("x")}); err != nil || lazy.Buffered() != 1 {
		t.Fatalf("Publish through a lazy client with nothing listening: %v, %d buffered; want it buffered", err, lazy.Buffered())
	}
}
