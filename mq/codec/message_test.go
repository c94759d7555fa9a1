package codec_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/codec"
	_ "github.com/groundwork-go/groundwork/mq/memmq" // mem://
	"github.com/groundwork-go/groundwork/resilience"
)

const deadline = time.Minute // generous: the tests wait on events, never on time

// bus opens a mem:// client of its own for one test.
func bus(t *testing.T) *mq.Client {
	t.Helper()
	c, err := mq.Open(context.Background(), "mem://"+t.Name())
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// subscribe runs a codec.Handler[Customer] on "customers" that reports
// each value it gets, with up to five attempts per message, and a
// dead-letter reader.
func subscribe(t *testing.T, c *mq.Client, r *codec.Registry) (got <-chan Customer, dead <-chan *mq.Message, runs *atomic.Int32) {
	t.Helper()
	ctx := context.Background()
	gotc := make(chan Customer, 16)
	deadc := make(chan *mq.Message, 16)
	runs = new(atomic.Int32)
	dlq, err := c.Subscribe(ctx, "customers.dlq", "ops", func(_ context.Context, m *mq.Message) error {
		deadc <- m
		return nil
	})
	must(t, err)
	t.Cleanup(func() { dlq.Close() })
	sub, err := c.Subscribe(ctx, "customers", "crm", codec.Handler(r, func(_ context.Context, _ *mq.Message, v Customer) error {
		runs.Add(1)
		gotc <- v
		return nil
	}), mq.WithMaxAttempts(5), mq.WithRedeliveryBackoff(resilience.RetryPolicy{InitialInterval: time.Millisecond}))
	must(t, err)
	t.Cleanup(func() { sub.Close() })
	return gotc, deadc, runs
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(deadline):
		t.Fatalf("no %s within %v", what, deadline)
		panic("unreachable")
	}
}

// TestHandlerUpcastsOverSubscription: messages at v1, v2 and v3 (and one
// plain message with no headers at all, read as v1) published on mem://
// reach a plain mq subscription's codec.Handler as the current v3 shape,
// in publish order.
func TestHandlerUpcastsOverSubscription(t *testing.T) {
	r := customers(t)
	c := bus(t)
	got, _, _ := subscribe(t, c, r)
	ctx := context.Background()
	ver := func(v int) map[string]string {
		return map[string]string{"message-type": "customer-registered", "schema-version": fmt.Sprint(v), "content-type": "application/json"}
	}
	must(t, c.Publish(ctx,
		&mq.Message{Topic: "customers", Key: "k", Headers: ver(1), Payload: []byte(`{"name":"Ada Lovelace"}`)},
		&mq.Message{Topic: "customers", Key: "k", Headers: ver(2), Payload: []byte(`{"first":"Alan","last":"Turing"}`)},
		&mq.Message{Topic: "customers", Key: "k", Payload: []byte(`{"name":"Grace Hopper"}`)}, // plain: v1
	))
	m, err := codec.NewMessage(r, "customers", "k", "customer-registered", Customer{First: "Edsger", Last: "Dijkstra", Tier: "gold"})
	must(t, err)
	must(t, c.Publish(ctx, m))
	for _, want := range []Customer{
		{"Ada", "Lovelace", "standard"},
		{"Alan", "Turing", "standard"},
		{"Grace", "Hopper", "standard"},
		{"Edsger", "Dijkstra", "gold"},
	} {
		if v := recv(t, got, "customer"); v != want {
			t.Fatalf("handler got %+v, want %+v", v, want)
		}
	}
}

// TestUndecodableGoesToDLQ: a message the consumer cannot read — from a
// newer producer, in another content type, of another type, with a bad
// version header, with bytes the upcaster refuses — is dead-lettered after
// one attempt (Permanent, though five are allowed), with the reason naming
// the type and versions, and the handler's function never runs. The
// messages behind it on the same key go on.
func TestUndecodableGoesToDLQ(t *testing.T) {
	r := customers(t)
	c := bus(t)
	got, dead, runs := subscribe(t, c, r)
	ctx := context.Background()
	cases := []struct {
		headers map[string]string
		payload string
		reason  []string
	}{
		{map[string]string{"message-type": "customer-registered", "schema-version": "4", "content-type": "application/json"}, `{}`,
			[]string{`"customer-registered"`, "v4 is newer than the current v3"}},
		{map[string]string{"content-type": "application/x-protobuf"}, `{}`,
			[]string{`"customer-registered"`, "current v3", `"application/x-protobuf"`, "wrong content type"}},
		{map[string]string{"message-type": "order-placed"}, `{}`,
			[]string{`"order-placed"`, `"customer-registered"`, "unexpected message type"}},
		{map[string]string{"schema-version": "two"}, `{}`,
			[]string{`"two"`, "schema-version"}},
		{nil, `{"name":"Plato"}`, []string{"v1→v2", `"Plato"`}},
		{map[string]string{"schema-version": "3"}, `[not json`, []string{"malformed", "v3"}},
	}
	for i, cs := range cases {
		must(t, c.Publish(ctx, &mq.Message{Topic: "customers", Key: "k", ID: fmt.Sprint("bad-", i), Headers: cs.headers, Payload: []byte(cs.payload)}))
	}
	must(t, c.Publish(ctx, &mq.Message{Topic: "customers", Key: "k", Payload: []byte(`{"name":"Ada Lovelace"}`)}))
	for range cases {
		m := recv(t, dead, "dead letter")
		var i int
		if _, err := fmt.Sscanf(m.ID, "bad-%d", &i); err != nil || i >= len(cases) {
			t.Fatalf("dead-lettered %q", m.ID)
		}
		reason := m.Headers[mq.HeaderDLQError]
		for _, s := range cases[i].reason {
			if !strings.Contains(reason, s) {
				t.Errorf("%s: reason %q does not say %q", m.ID, reason, s)
			}
		}
		if a := m.Headers[mq.HeaderDLQAttempts]; a != "1" {
			t.Errorf("%s: dead-lettered after %s attempts, want 1 (Permanent)", m.ID, a)
		}
	}
	if v := recv(t, got, "customer"); v.First != "Ada" {
		t.Fatalf("handler got %+v", v)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("the handler's function ran %d times, want 1 (only the good message)", n)
	}
}

func TestDecodeMessageErrors(t *testing.T) {
	r := customers(t)
	m := &mq.Message{ID: "m1", Headers: map[string]string{"content-type": "text/plain"}, Payload: []byte(`{}`)}
	_, err := codec.DecodeMessage[Customer](r, m)
	if !errors.Is(err, codec.ErrContentType) || !strings.Contains(err.Error(), "m1") {
		t.Fatalf("wrong content type: %v", err)
	}
	// Parameters and case do not matter.
	m.Headers["content-type"] = "Application/JSON; charset=utf-8"
	m.Payload = []byte(`{"name":"Ada Lovelace"}`)
	if v, err := codec.DecodeMessage[Customer](r, m); err != nil || v.Tier != "standard" {
		t.Fatalf("content type with parameters: %+v, %v", v, err)
	}
	if _, err := codec.DecodeMessage[Order](r, m); !errors.Is(err, codec.ErrType) || !strings.Contains(err.Error(), "codec_test.Order") {
		t.Fatalf("unregistered Go type: %v", err)
	}
	if _, err := codec.DecodeMessage[Customer](r, nil); !errors.Is(err, codec.ErrInvalid) {
		t.Fatalf("nil message: %v", err)
	}
	h := codec.Handler[Customer](r, nil)
	if err := h(context.Background(), m); !errors.Is(err, codec.ErrInvalid) {
		t.Fatalf("nil func: %v", err)
	}
}
