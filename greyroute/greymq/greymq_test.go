package greymq_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/greyroute/greymq"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	_ "github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/resilience"
)

const patience = 10 * time.Second

// subscribe opens the mem:// broker name and returns what arrives on topic.
func subscribe(t *testing.T, name, topic string) (*mq.Client, <-chan *mq.Message) {
	t.Helper()
	ctx := context.Background()
	client, err := mq.Open(ctx, "mem://"+name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	got := make(chan *mq.Message, 4)
	sub, err := client.Subscribe(ctx, topic, "ops", func(_ context.Context, m *mq.Message) error {
		got <- m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return client, got
}

func receive(t *testing.T, got <-chan *mq.Message) greyroute.RollbackEvent {
	t.Helper()
	select {
	case m := <-got:
		var e greyroute.RollbackEvent
		if err := json.Unmarshal(m.Payload, &e); err != nil {
			t.Fatalf("payload %q: %v", m.Payload, err)
		}
		if m.Key != e.Service || m.ID != e.ID || m.Headers["content-type"] != "application/json" {
			t.Fatalf("message key %q id %q headers %v for event %+v", m.Key, m.ID, m.Headers, e)
		}
		return e
	case <-time.After(patience):
		t.Fatal("no rollback message")
	}
	return greyroute.RollbackEvent{}
}

// TestSink: Emit publishes the event's JSON keyed by service; bad
// arguments are ErrInvalid.
func TestSink(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // runs after the cleanups registered later
	client, got := subscribe(t, "greymq-sink", "rollbacks")
	want := greyroute.RollbackEvent{ID: "R1", Service: "orders", Version: "v2", ErrorRate: 0.25, Requests: 40, Failures: 10,
		Window: time.Minute, Time: time.UnixMilli(1_800_000_000_000).UTC(), Router: "host/1"}
	if err := greymq.Sink(client, "rollbacks").Emit(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	if e := receive(t, got); e != want {
		t.Fatalf("received %+v, want %+v", e, want)
	}
	for _, s := range []greyroute.EventSink{greymq.Sink(nil, "rollbacks"), greymq.Sink(client, "")} {
		if err := s.Emit(context.Background(), want); !errors.Is(err, greyroute.ErrInvalid) {
			t.Errorf("Emit with a nil client or empty topic: %v, want ErrInvalid", err)
		}
	}
}

// TestRouterToTopic: a Router rolls a failing canary back and the event
// arrives on the topic, end to end, over a real redis-server.
func TestRouterToTopic(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rdb.Close() })
	a, err := greyroute.NewAdmin(rdb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	for _, i := range []greyroute.Instance{
		{ID: "a1", Service: "orders", Version: "v1", Addr: "a1:80"},
		{ID: "b1", Service: "orders", Version: "v2", Addr: "b1:80"},
	} {
		if err := a.Register(ctx, i, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.SetStable(ctx, "orders", "v1"); err != nil {
		t.Fatal(err)
	}
	if err := a.SetRollout(ctx, "orders", greyroute.Rollout{To: "v2", Percent: 100}); err != nil {
		t.Fatal(err)
	}
	client, got := subscribe(t, "greymq-router", "rollbacks")
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rc.Close() })
	r, err := greyroute.NewRouter(rc, greyroute.WithLogger(slog.New(slog.DiscardHandler)),
		greyroute.WithBreaker(resilience.BreakerPolicy{Disabled: true}),
		greyroute.WithAutoRollback(greyroute.RollbackPolicy{MinRequests: 5, Sink: greymq.Sink(client, "rollbacks")}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	for i := range 5 {
		inst, err := r.Pick(ctx, fmt.Sprintf("tenant-%d", i), "orders")
		if err != nil || inst.Version != "v2" {
			t.Fatalf("pick: %v %v", inst.Version, err)
		}
		r.Done(inst, errors.New("500"), time.Millisecond)
	}
	e := receive(t, got)
	if e.Service != "orders" || e.Version != "v2" || e.Requests != 5 || e.Failures != 5 {
		t.Fatalf("event %+v", e)
	}
	tab, err := a.Snapshot(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if tab.RolloutTo != "" || tab.LastRollback == nil || tab.LastRollback.ID != e.ID {
		t.Fatalf("table %+v", tab)
	}
}
