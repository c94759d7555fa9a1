package mq_test

import (
	"context"
	"testing"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/memmq"
)

// nativeConsumer stands for a provider's native consumer type.
type nativeConsumer struct{ name string }

// asConn hands out receivers that have a native consumer when aser is
// set, and plain ones otherwise.
type asConn struct{ aser bool }

func (c asConn) Publish(context.Context, []driver.Message) error { return nil }
func (c asConn) Subscribe(_ context.Context, topic, _ string) (driver.Receiver, error) {
	r := &plainReceiver{}
	if c.aser {
		return &aserReceiver{plainReceiver: r, native: &nativeConsumer{name: topic}}, nil
	}
	return r, nil
}
func (asConn) IsRetryable(error) bool { return false }
func (asConn) As(any) bool            { return false }
func (asConn) Close() error           { return nil }

type plainReceiver struct{}

func (*plainReceiver) Receive(ctx context.Context, _ int) ([]*driver.Delivery, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (*plainReceiver) Ack(context.Context, *driver.Delivery) error  { return nil }
func (*plainReceiver) Nack(context.Context, *driver.Delivery) error { return nil }
func (*plainReceiver) Close() error                                 { return nil }

// aserReceiver hands out its native consumer as a provider would: it
// does not check for a nil target itself.
type aserReceiver struct {
	*plainReceiver
	native *nativeConsumer
}

func (r *aserReceiver) As(target any) bool {
	if p, ok := target.(**nativeConsumer); ok {
		*p = r.native
		return true
	}
	return false
}

var _ driver.Aser = (*aserReceiver)(nil)

func subscribeAs(t *testing.T, aser bool) *mq.Subscription {
	t.Helper()
	c, err := mq.NewClient(asConn{aser: aser})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := c.Subscribe(context.Background(), "orders", "g", func(context.Context, *mq.Message) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSubscriptionAs: Subscription.As hands out the receiver's native
// consumer when the types match, nothing for another type, a nil target
// or a receiver without one, and nothing once Close has begun.
func TestSubscriptionAs(t *testing.T) {
	s := subscribeAs(t, true)
	var nc *nativeConsumer
	if !s.As(&nc) || nc == nil || nc.name != "orders" {
		t.Fatalf("As(**nativeConsumer) = false or %v, want the receiver's consumer", nc)
	}
	var wrong *memmq.Broker
	if s.As(&wrong) || wrong != nil {
		t.Error("As(**memmq.Broker) = true, want false")
	}
	if s.As(nil) || s.As((**nativeConsumer)(nil)) {
		t.Error("As(nil) = true, want false")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	nc = nil
	if s.As(&nc) || nc != nil {
		t.Error("As after Close = true, want false: the consumer is shut down")
	}

	plain := subscribeAs(t, false)
	if plain.As(&nc) {
		t.Error("As on a receiver without driver.Aser = true, want false")
	}
}

// TestClientAsNilTarget: a nil target, or a nil pointer of the type the
// provider hands out, is false, not a panic in the provider.
func TestClientAsNilTarget(t *testing.T) {
	c, err := mq.Open(context.Background(), "mem://as-nil")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.As(nil) || c.As((**memmq.Broker)(nil)) {
		t.Error("As(nil) = true, want false")
	}
	var b *memmq.Broker
	if !c.As(&b) || b == nil {
		t.Error("As(**memmq.Broker) = false, want the broker")
	}
}
