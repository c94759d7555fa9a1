package mqtest

import (
	"context"
	"reflect"
	"testing"
)

// notNative is a type no provider hands out.
type notNative struct{}

// testSubscriptionAs: Subscription.As hands out nothing of a type no
// provider has; with Harness.SubscriptionAs, it fills the provider's
// target with a consumer while the subscription runs, a nil pointer of
// that type is false (not a panic), and once Close has begun it hands out
// nothing.
func testSubscriptionAs(t *testing.T, h Harness) {
	c := h.client(t)
	var in inbox
	sub, err := c.Subscribe(context.Background(), uniqueTopic(t), "as", in.handler, h.subOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if sub.As(new(notNative)) || sub.As(nil) {
		t.Error("Subscription.As of a foreign type or nil = true, want false")
	}
	if h.SubscriptionAs == nil {
		return
	}
	target := h.SubscriptionAs()
	if !sub.As(target) {
		t.Fatalf("Subscription.As(%T) = false, want the native consumer", target)
	}
	if reflect.ValueOf(target).Elem().IsZero() {
		t.Fatalf("Subscription.As(%T) = true but left the target zero", target)
	}
	if sub.As(reflect.Zero(reflect.TypeOf(target)).Interface()) {
		t.Errorf("Subscription.As(%T(nil)) = true, want false", target)
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	after := h.SubscriptionAs()
	if sub.As(after) || !reflect.ValueOf(after).Elem().IsZero() {
		t.Errorf("Subscription.As(%T) after Close = true, want false", after)
	}
}
