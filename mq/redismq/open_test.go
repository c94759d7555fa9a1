package redismq_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/resilience"
)

// TestOpenChecksReachability: Open of a live server succeeds; with the
// server gone (its port closed) it fails with ErrUnreachable naming the
// address, while a WithLazyConnect client opens and buffers what it
// publishes until the server is back; a server that accepts connections
// and answers nothing (SIGSTOP) fails Open at ctx's deadline, although
// the URL gives go-redis an hour to read.
func TestOpenChecksReachability(t *testing.T) {
	ctx := context.Background()
	r := testserver.StartRedis(t, nil)
	url := r.URL + "?" + testParams
	open(t, url)

	r.Kill()
	c, err := mq.Open(ctx, url)
	if !errors.Is(err, mq.ErrUnreachable) || !strings.Contains(err.Error(), r.Addr) {
		t.Fatalf("Open with nothing listening: %v, %v; want ErrUnreachable naming %s", c, err, r.Addr)
	}
	lazy := open(t, url, mq.WithLazyConnect(), mq.WithOutageBuffer(t.TempDir()),
		mq.WithRetry(resilience.RetryPolicy{InitialInterval: 5 * time.Millisecond, MaxInterval: 50 * time.Millisecond}),
		mq.WithBreaker(resilience.BreakerPolicy{OpenTimeout: 50 * time.Millisecond}))
	sent := &mq.Message{Topic: "lazy", Key: "k", Payload: []byte("published while the server was down")}
	if err := lazy.Publish(ctx, sent); err != nil || lazy.Buffered() != 1 {
		t.Fatalf("Publish through a lazy client with nothing listening: %v, %d buffered; want it buffered", err, lazy.Buffered())
	}
	r.Restart(t)
	waitFor(t, "the buffer to drain once the server is back", func() bool { return lazy.Buffered() == 0 })
	rdb := rawClient(t, r.Addr)
	found := false
	for p := range 8 {
		entries, err := rdb.XRange(ctx, "mq:{lazy/"+strconv.Itoa(p)+"}", "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			found = found || e.Values["id"] == sent.ID
		}
	}
	if !found {
		t.Fatalf("message %s is in no partition stream of the topic", sent.ID)
	}

	r.Pause()
	defer r.Resume()
	deadline, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	c, err = mq.Open(deadline, r.URL+"?dial_timeout=1h&read_timeout=1h&write_timeout=1h")
	if !errors.Is(err, mq.ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), r.Addr) {
		t.Fatalf("Open of a paused server: %v, %v; want ErrUnreachable and DeadlineExceeded naming %s", c, err, r.Addr)
	}
}
