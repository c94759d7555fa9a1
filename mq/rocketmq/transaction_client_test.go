//go:build !race

// Through rocketmq-client-go, so not under -race: see rocketmq_test.go.
// The mapping and recovery code these tests drive is race-checked without
// the client in transaction_test.go.

package rocketmq_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-client-go/v2"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/rocketmq"
)

const txPatience = 60 * time.Second

// script is what a scriptedTx does for the messages of one key: the
// states Execute and the successive Checks answer (a nil func panics).
type script struct {
	execute func() rocketmq.TxState
	checks  []func() rocketmq.TxState
}

// scriptedTx is a LocalTransaction answering per message key, recording
// every call with the message it got.
type scriptedTx struct {
	mu       sync.Mutex
	scripts  map[string]*script
	executed []mq.Message
	checked  []mq.Message
	ctxSeen  []any
}

type ctxKey struct{}

func (s *scriptedTx) Execute(ctx context.Context, m *mq.Message) rocketmq.TxState {
	s.mu.Lock()
	s.executed = append(s.executed, *m)
	s.ctxSeen = append(s.ctxSeen, ctx.Value(ctxKey{}))
	sc := s.scripts[m.Key]
	s.mu.Unlock()
	if sc == nil {
		return rocketmq.TxRollback
	}
	return sc.execute()
}

func (s *scriptedTx) Check(ctx context.Context, m *mq.Message) rocketmq.TxState {
	s.mu.Lock()
	s.checked = append(s.checked, *m)
	sc := s.scripts[m.Key]
	var next func() rocketmq.TxState
	if sc != nil && len(sc.checks) > 0 {
		next = sc.checks[0]
		if len(sc.checks) > 1 {
			sc.checks = sc.checks[1:]
		}
	}
	s.mu.Unlock()
	if ctx.Err() != nil || next == nil {
		return rocketmq.TxUnknown
	}
	return next()
}

func (s *scriptedTx) set(key string, sc *script) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[key] = sc
}

func (s *scriptedTx) calls(key string) (executed, checked []mq.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.executed {
		if m.Key == key {
			executed = append(executed, m)
		}
	}
	for _, m := range s.checked {
		if m.Key == key {
			checked = append(checked, m)
		}
	}
	return executed, checked
}

func state(s rocketmq.TxState) func() rocketmq.TxState { return func() rocketmq.TxState { return s } }
func panics(v any) func() rocketmq.TxState {
	return func() rocketmq.TxState { panic(v) }
}

// received collects what a subscription got, by message ID.
type received struct {
	mu  sync.Mutex
	msg map[string]mq.Message
}

func (r *received) get(id string) (mq.Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.msg[id]
	return m, ok
}

// TestTransactionProducer sends transactional messages through the
// client's transaction producer to the double (which checks unresolved
// half messages back every 200 ms) and receives them with an mq.Client
// subscription, as any published message: the topic's name needs
// escaping, so the check-back's topic is mapped back too.
func TestTransactionProducer(t *testing.T) {
	srv := testserver.StartRocketMQ(t, testserver.RocketMQTransactionCheck(200*time.Millisecond),
		testserver.RocketMQMaxMessageBytes(doubleLimit))
	url := "rocketmq://" + srv.NameServer() + "?" + testParams
	const topic = "tx.orders"
	ctx := context.Background()

	client, err := mq.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	got := &received{msg: map[string]mq.Message{}}
	sub, err := client.Subscribe(ctx, topic, "tx-readers", func(_ context.Context, m *mq.Message) error {
		got.mu.Lock()
		defer got.mu.Unlock()
		got.msg[m.ID] = *m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	local := &scriptedTx{scripts: map[string]*script{}}
	p, err := rocketmq.OpenTransactionProducer(ctx, url+"&producer_group=tx-test", local)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	// neverDelivered proves the message with id is not delivered: once the
	// broker holds no half message, a marker with the same key (so on the
	// same queue, after it) is published and received first.
	neverDelivered := func(t *testing.T, id, key string) {
		t.Helper()
		testserver.WaitFor(t, txPatience, "the broker to resolve every half message", func() bool { return srv.HalfMessages() == 0 })
		marker := &mq.Message{Topic: topic, Key: key, Payload: []byte("marker")}
		if err := client.Publish(ctx, marker); err != nil {
			t.Fatal(err)
		}
		testserver.WaitFor(t, txPatience, "the marker", func() bool { _, ok := got.get(marker.ID); return ok })
		if _, ok := got.get(id); ok {
			t.Fatalf("message %s was delivered", id)
		}
	}

	t.Run("commit", func(t *testing.T) {
		local.set("k-commit", &script{execute: state(rocketmq.TxCommit)})
		when := time.Unix(1700000000, 123456789)
		m := &mq.Message{Topic: topic, Key: "k-commit", Payload: []byte("paid"), Headers: map[string]string{"h": "v", "empty": ""}, Time: when}
		s, err := p.Send(context.WithValue(ctx, ctxKey{}, "mine"), m)
		if err != nil || s != rocketmq.TxCommit {
			t.Fatalf("Send = %v, %v; want commit", s, err)
		}
		if m.ID == "" {
			t.Fatal("Send did not fill the message's ID")
		}
		executed, _ := local.calls("k-commit")
		if len(executed) != 1 || executed[0].ID != m.ID || local.ctxSeen[0] != "mine" {
			t.Fatalf("Execute got %+v (context value %v); want one call with ID %s and Send's context", executed, local.ctxSeen, m.ID)
		}
		testserver.WaitFor(t, txPatience, "the committed message", func() bool { _, ok := got.get(m.ID); return ok })
		r, _ := got.get(m.ID)
		if r.Topic != topic || r.Key != m.Key || !bytes.Equal(r.Payload, m.Payload) || !r.Time.Equal(when) ||
			len(r.Headers) != 2 || r.Headers["h"] != "v" || r.Headers["empty"] != "" {
			t.Fatalf("received %+v; want %+v", r, *m)
		}
	})

	t.Run("rollback", func(t *testing.T) {
		local.set("k-rollback", &script{execute: state(rocketmq.TxRollback)})
		m := &mq.Message{Topic: topic, Key: "k-rollback", Payload: []byte("cancelled")}
		if s, err := p.Send(ctx, m); err != nil || s != rocketmq.TxRollback {
			t.Fatalf("Send = %v, %v; want rollback", s, err)
		}
		neverDelivered(t, m.ID, m.Key)
	})

	t.Run("unknown, then the check-back commits", func(t *testing.T) {
		local.set("k-check-commit", &script{execute: state(rocketmq.TxUnknown), checks: []func() rocketmq.TxState{state(rocketmq.TxCommit)}})
		m := &mq.Message{Topic: topic, Key: "k-check-commit", Payload: []byte("late"), Headers: map[string]string{"order": "7"}}
		if s, err := p.Send(ctx, m); err != nil || s != rocketmq.TxUnknown {
			t.Fatalf("Send = %v, %v; want unknown", s, err)
		}
		testserver.WaitFor(t, txPatience, "the message committed by Check", func() bool { _, ok := got.get(m.ID); return ok })
		_, checked := local.calls(m.Key)
		if len(checked) == 0 {
			t.Fatal("delivered without a check")
		}
		c := checked[0]
		if c.ID != m.ID || c.Topic != topic || c.Headers["order"] != "7" || !bytes.Equal(c.Payload, m.Payload) || !c.Time.Equal(m.Time) {
			t.Fatalf("Check got %+v; want the message sent, %+v", c, *m)
		}
	})

	t.Run("unknown, then the check-back rolls back", func(t *testing.T) {
		local.set("k-check-rollback", &script{execute: state(rocketmq.TxUnknown), checks: []func() rocketmq.TxState{state(rocketmq.TxRollback)}})
		m := &mq.Message{Topic: topic, Key: "k-check-rollback", Payload: []byte("never")}
		if s, err := p.Send(ctx, m); err != nil || s != rocketmq.TxUnknown {
			t.Fatalf("Send = %v, %v; want unknown", s, err)
		}
		testserver.WaitFor(t, txPatience, "a check", func() bool { _, c := local.calls(m.Key); return len(c) > 0 })
		neverDelivered(t, m.ID, m.Key)
	})

	t.Run("Execute and then Check panic", func(t *testing.T) {
		// Execute's panic leaves the outcome to Check, as a crash would;
		// Check's first panic is an unknown too, and the check-backs go on:
		// the second answers commit.
		local.set("k-panic", &script{execute: panics("local boom"),
			checks: []func() rocketmq.TxState{panics("check boom"), state(rocketmq.TxCommit)}})
		m := &mq.Message{Topic: topic, Key: "k-panic", Payload: []byte("recovered")}
		s, err := p.Send(ctx, m)
		if !errors.Is(err, rocketmq.ErrExecutePanicked) || s != rocketmq.TxUnknown || !strings.Contains(err.Error(), "local boom") {
			t.Fatalf("Send = %v, %v; want unknown and ErrExecutePanicked naming the panic", s, err)
		}
		testserver.WaitFor(t, txPatience, "the message committed by the second Check", func() bool { _, ok := got.get(m.ID); return ok })
		if _, checked := local.calls(m.Key); len(checked) < 2 {
			t.Fatalf("%d checks; want the panicking one, then the committing one", len(checked))
		}
	})

	t.Run("Execute panics, then Check rolls back", func(t *testing.T) {
		local.set("k-panic-rollback", &script{execute: panics(errors.New("half done")), checks: []func() rocketmq.TxState{state(rocketmq.TxRollback)}})
		m := &mq.Message{Topic: topic, Key: "k-panic-rollback", Payload: []byte("never")}
		if _, err := p.Send(ctx, m); !errors.Is(err, rocketmq.ErrExecutePanicked) {
			t.Fatalf("Send: %v; want ErrExecutePanicked", err)
		}
		testserver.WaitFor(t, txPatience, "a check", func() bool { _, c := local.calls(m.Key); return len(c) > 0 })
		neverDelivered(t, m.ID, m.Key)
	})

	t.Run("errors are Publish's", func(t *testing.T) {
		local.set("k-err", &script{execute: state(rocketmq.TxCommit)})
		srv.FailNext(10, 1) // SEND_MESSAGE: SYSTEM_ERROR
		if _, err := p.Send(ctx, &mq.Message{Topic: topic, Key: "k-err", Payload: []byte("x")}); !errors.Is(err, mq.ErrUnreachable) {
			t.Errorf("broker SYSTEM_ERROR: %v; want mq.ErrUnreachable", err)
		}
		big := &mq.Message{Topic: topic, Key: "k-err", Payload: make([]byte, 4194304)}
		if _, err := p.Send(ctx, big); !errors.Is(err, mq.ErrTooLarge) {
			t.Errorf("too large: %v; want mq.ErrTooLarge", err)
		}
		if _, err := p.Send(ctx, &mq.Message{Topic: topic, Key: "k-err", Headers: map[string]string{"KEYS": "x"}}); !errors.Is(err, mq.ErrInvalid) {
			t.Errorf("reserved header: %v; want mq.ErrInvalid", err)
		}
		if _, err := p.Send(ctx, &mq.Message{Key: "k-err"}); !errors.Is(err, mq.ErrInvalid) {
			t.Errorf("no topic: %v; want mq.ErrInvalid", err)
		}
		if _, err := p.Send(ctx, nil); !errors.Is(err, mq.ErrInvalid) {
			t.Errorf("nil message: %v; want mq.ErrInvalid", err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := p.Send(cancelled, &mq.Message{Topic: topic, Key: "k-err"}); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled context: %v; want context.Canceled", err)
		}
		if executed, _ := local.calls("k-err"); len(executed) != 0 {
			t.Errorf("Execute ran for %d failed sends; want none", len(executed))
		}
	})

	t.Run("As and Close", func(t *testing.T) {
		var native rmq.TransactionProducer
		if !p.As(&native) || native == nil {
			t.Fatal("As(*rocketmq.TransactionProducer) = false")
		}
		var plain rmq.Producer
		if p.As(&plain) {
			t.Fatal("As(*rocketmq.Producer) = true")
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := p.Send(ctx, &mq.Message{Topic: topic}); !errors.Is(err, mq.ErrClosed) {
			t.Fatalf("Send after Close: %v; want mq.ErrClosed", err)
		}
	})
}
