package rocketmq

import (
	"sync"
	"testing"

	rmq "github.com/apache/rocketmq-client-go/v2"
)

// asPushConsumer stands in for the client's push consumer; the receiver
// calls only its Shutdown.
type asPushConsumer struct{ rmq.PushConsumer }

func (asPushConsumer) Shutdown() error { return nil }

// TestReceiverAs: the receiver hands out its push consumer for a
// *rocketmq.PushConsumer, nothing for other types or a nil pointer, and
// nothing once Close has begun, also when As races Close (under -race;
// no client involved).
func TestReceiverAs(t *testing.T) {
	r := newReceiver("orders", 20)
	fake := &asPushConsumer{}
	r.pc = fake
	var pc rmq.PushConsumer
	if !r.As(&pc) || pc != rmq.PushConsumer(fake) {
		t.Fatalf("As(*rocketmq.PushConsumer) = false or %v, want the member's consumer", pc)
	}
	var prod rmq.Producer
	if r.As(&prod) || r.As((*rmq.PushConsumer)(nil)) || r.As(nil) {
		t.Error("As of another type or a nil pointer = true, want false")
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		var pc rmq.PushConsumer
		for range 1000 {
			r.As(&pc)
		}
	})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	pc = nil
	if r.As(&pc) || pc != nil {
		t.Error("As after Close = true, want false")
	}
}
