package backendtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/resilience"
)

// maxBytes is the test bus's message size limit.
const maxBytes = 4096

// Recorder is an in-process (memmq) bus connection that records, in
// order, what the broker accepted and how many publish calls failed, and
// wakes waiters on every change.
type Recorder struct {
	driver.Conn
	Broker *memmq.Broker

	mu       sync.Mutex
	log      []driver.Message
	failures int
	change   chan struct{}
}

// Publish records msgs once the broker took them, or counts the failure.
func (r *Recorder) Publish(ctx context.Context, msgs []driver.Message) error {
	err := r.Conn.Publish(ctx, msgs)
	r.mu.Lock()
	if err != nil {
		r.failures++
	} else {
		r.log = append(r.log, msgs...)
	}
	close(r.change)
	r.change = make(chan struct{})
	r.mu.Unlock()
	return err
}

// MaxMessageBytes is the bus's size limit: 4096.
func (r *Recorder) MaxMessageBytes() int { return maxBytes }

// Log returns what was published so far.
func (r *Recorder) Log() []driver.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]driver.Message(nil), r.log...)
}

// Wait waits until cond holds over the log and the failure count, failing
// t after a generous deadline (not a timing assertion: a stuck relay).
func (r *Recorder) Wait(t testing.TB, what string, cond func(log []driver.Message, failures int) bool) []driver.Message {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		r.mu.Lock()
		log, failures, ch := append([]driver.Message(nil), r.log...), r.failures, r.change
		r.mu.Unlock()
		if cond(log, failures) {
			return log
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; published %d, failed publishes %d", what, len(log), failures)
		}
	}
}

// fastRetry keeps the bus's own retries short.
var fastRetry = resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 20 * time.Millisecond, MaxAttempts: 2}

// NewBus returns a client on a recording in-process broker of its own,
// closed when t ends.
func NewBus(t testing.TB) (*mq.Client, *Recorder) {
	t.Helper()
	b := memmq.NewBroker(&memmq.Options{Partitions: 4, MaxMessageBytes: maxBytes})
	rec := &Recorder{Conn: memmq.New(b), Broker: b, change: make(chan struct{})}
	bus, err := mq.NewClient(rec, mq.WithRetry(fastRetry), mq.WithBreaker(resilience.BreakerPolicy{OpenTimeout: 20 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	return bus, rec
}
