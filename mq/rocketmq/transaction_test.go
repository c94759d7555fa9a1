package rocketmq

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/groundwork-go/groundwork/mq"
)

// These tests drive the TransactionProducer's own code without the client
// (which races, see rocketmq_test.go), so they run under -race: the
// message mapping, the listener's recovery and its bookkeeping against
// Close. transaction_client_test.go drives it through the client.

// funcTx is a LocalTransaction of two funcs.
type funcTx struct {
	execute, check func(ctx context.Context, m *mq.Message) TxState
}

func (f funcTx) Execute(ctx context.Context, m *mq.Message) TxState { return f.execute(ctx, m) }
func (f funcTx) Check(ctx context.Context, m *mq.Message) TxState   { return f.check(ctx, m) }

// bareProducer is a TransactionProducer without a native producer, for
// the listener and prepare.
func bareProducer(local LocalTransaction, namespace string, log io.Writer) *TransactionProducer {
	o := (&Options{Namespace: namespace, Logger: slog.New(slog.NewTextHandler(log, nil))}).withDefaults()
	p := &TransactionProducer{opts: o, local: local}
	p.life, p.stop = context.WithCancel(context.Background())
	return p
}

func TestTxStates(t *testing.T) {
	for _, s := range []TxState{TxUnknown, TxCommit, TxRollback} {
		if got := fromLocalState(toLocalState(s)); got != s {
			t.Errorf("%v -> %v", s, got)
		}
	}
	if toLocalState(TxState(42)) != primitive.UnkonwnState || TxState(42).String() != "unknown" {
		t.Error("a state out of range is not unknown")
	}
	if TxCommit.String() != "commit" || TxRollback.String() != "rollback" {
		t.Error("String")
	}
}

// TestTxPrepare: what Send sends is what Publish sends, and what Check
// gets back is what a subscriber gets.
func TestTxPrepare(t *testing.T) {
	p := bareProducer(nil, "", io.Discard)
	m := &mq.Message{Topic: "orders.eu", Key: "k", Payload: []byte("p"), Headers: map[string]string{"a": "b", "": "empty name"}}
	nm, err := p.prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID == "" || m.Time.IsZero() {
		t.Fatalf("ID %q, Time %v: not filled", m.ID, m.Time)
	}
	if nm.Topic != "orders_2Eeu" || nm.GetProperty(primitive.PropertyKeys) != "k" || nm.GetProperty(propID) != m.ID {
		t.Fatalf("native message %v", nm)
	}
	// The broker hands the half message back for a check as a MessageExt.
	back := fromNative(asExt(nm), mqTopic(nm.Topic, ""))
	if back.ID != m.ID || back.Topic != m.Topic || back.Key != m.Key || !bytes.Equal(back.Payload, m.Payload) ||
		!back.Time.Equal(m.Time) || len(back.Headers) != 2 || back.Headers[""] != "empty name" {
		t.Fatalf("round trip: %+v; want %+v", back, *m)
	}

	for name, tc := range map[string]struct {
		m    *mq.Message
		want error
	}{
		"nil":             {nil, mq.ErrInvalid},
		"no topic":        {&mq.Message{}, mq.ErrInvalid},
		"reserved header": {&mq.Message{Topic: "t", Headers: map[string]string{"DELAY": "3"}}, mq.ErrInvalid},
		"separator":       {&mq.Message{Topic: "t", Key: "a\x01b"}, mq.ErrInvalid},
		"too large":       {&mq.Message{Topic: "t", Payload: make([]byte, defaultMaxMessageBytes)}, mq.ErrTooLarge},
		"long topic":      {&mq.Message{Topic: strings.Repeat(".", 50)}, mq.ErrInvalid},
	} {
		if _, err := p.prepare(tc.m); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v; want %v", name, err, tc.want)
		}
	}
	// A topic that fits alone but not behind the namespace ("ns%") is
	// refused here, as Publish refuses it (it used to pass, to fail later
	// at the broker with another error).
	fits := strings.Repeat("t", maxTopicLen-1)
	if _, err := p.prepare(&mq.Message{Topic: fits}); err != nil {
		t.Fatalf("a %d-byte topic without a namespace: %v", len(fits), err)
	}
	if _, err := bareProducer(nil, "ns", io.Discard).prepare(&mq.Message{Topic: fits}); !errors.Is(err, mq.ErrInvalid) {
		t.Fatalf("a %d-byte topic behind namespace ns: %v, want mq.ErrInvalid", len(fits), err)
	}
	keep := &mq.Message{Topic: "t", ID: "mine", Time: time.Unix(5, 0)}
	if _, err := p.prepare(keep); err != nil || keep.ID != "mine" || !keep.Time.Equal(time.Unix(5, 0)) {
		t.Fatalf("prepare changed a given ID or Time: %+v, %v", keep, err)
	}
}

func TestMqTopic(t *testing.T) {
	for _, name := range []string{"orders", "my_topic", "a|b", "orders.dlq", "_", "x_5Fy", "ü.%", "a_2", "a_zz", "A_2e"} {
		n, err := nativeName("topic", name, maxTopicLen)
		if err != nil {
			t.Fatal(err)
		}
		if got := mqTopic(n, ""); got != name {
			t.Errorf("mqTopic(nativeName(%q) = %q) = %q", name, n, got)
		}
		if got := mqTopic("ns%"+n, "ns"); got != name {
			t.Errorf("with namespace: %q", got)
		}
	}
}

func FuzzMqTopic(f *testing.F) {
	for _, s := range []string{"orders_2Edlq", "a_2Eb", "_5F", "x_", "x_4", "_41", "ns%a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, native string) {
		name := mqTopic(native, "")
		if name != native {
			// Decoded only what nativeName writes back as it was.
			if n, err := nativeName("topic", name, len(native)); err != nil || n != native {
				t.Fatalf("mqTopic(%q) = %q, which is written %q", native, name, n)
			}
		}
	})
}

// TestTxListenerExecute: Execute gets Send's context and message; its
// panic is an unknown, recorded for Send; a message of no Send in progress
// is unknown.
func TestTxListenerExecute(t *testing.T) {
	type key struct{}
	var gotCtx any
	var got *mq.Message
	local := funcTx{execute: func(ctx context.Context, m *mq.Message) TxState {
		gotCtx, got = ctx.Value(key{}), m
		if m.Key == "boom" {
			panic("boom")
		}
		return TxCommit
	}}
	p := bareProducer(local, "", io.Discard)
	l := listener{p}
	m := &mq.Message{Topic: "t", Key: "k"}
	nm, _ := p.prepare(m)
	call := &txCall{ctx: context.WithValue(context.Background(), key{}, "v"), m: m}
	p.pending.Store(nm, call)
	if s := l.ExecuteLocalTransaction(nm); s != primitive.CommitMessageState || !call.ran || gotCtx != "v" || got != m {
		t.Fatalf("state %v, ran %v, context value %v, message %p (want %p)", s, call.ran, gotCtx, got, m)
	}
	m.Key = "boom"
	if s := l.ExecuteLocalTransaction(nm); s != primitive.UnkonwnState || call.panicked == nil || call.panicked.value != "boom" {
		t.Fatalf("panicking Execute: state %v, panic %v", s, call.panicked)
	}
	if s := l.ExecuteLocalTransaction(&primitive.Message{}); s != primitive.UnkonwnState {
		t.Fatalf("unknown message: %v", s)
	}
}

// TestTxListenerCheck: Check gets the message as a subscriber would, a
// context that Close cancels, and its panic is logged as an unknown.
func TestTxListenerCheck(t *testing.T) {
	var log bytes.Buffer
	var logMu sync.Mutex
	checked := make(chan *mq.Message, 1)
	local := funcTx{check: func(ctx context.Context, m *mq.Message) TxState {
		if m.Key == "boom" {
			panic("check boom")
		}
		checked <- m
		return TxRollback
	}}
	p := bareProducer(local, "ns", lockedWriter{&logMu, &log})
	nm, _ := p.prepare(&mq.Message{Topic: "a.b", Key: "k", ID: "id-1"})
	nm.Topic = "ns%" + nm.Topic // as the client's namespace puts it
	l := listener{p}
	if s := l.CheckLocalTransaction(asExt(nm)); s != primitive.RollbackMessageState {
		t.Fatalf("state %v", s)
	}
	if m := <-checked; m.Topic != "a.b" || m.ID != "id-1" || m.Key != "k" {
		t.Fatalf("Check got %+v", m)
	}
	nm.WithProperty(primitive.PropertyKeys, "boom")
	if s := l.CheckLocalTransaction(asExt(nm)); s != primitive.UnkonwnState {
		t.Fatalf("panicking Check: %v", s)
	}
	logMu.Lock()
	if !strings.Contains(log.String(), "check boom") || !strings.Contains(log.String(), "id-1") {
		t.Errorf("the panic was not logged with the message: %s", log.String())
	}
	logMu.Unlock()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(b)
}

// TestTxCloseWaitsForCheck: Close cancels a Check's context and returns
// only after it did; Check calls after Close do not reach the
// LocalTransaction, which the producer then no longer holds.
func TestTxCloseWaitsForCheck(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var returned sync.WaitGroup
	var checkDone bool
	var mu sync.Mutex
	local := funcTx{check: func(ctx context.Context, m *mq.Message) TxState {
		close(entered)
		<-ctx.Done() // Close cancels it
		<-release
		mu.Lock()
		checkDone = true
		mu.Unlock()
		return TxCommit
	}}
	p := bareProducer(local, "", io.Discard)
	p.prod = nopProducer{}
	nm, _ := p.prepare(&mq.Message{Topic: "t"})
	returned.Add(1)
	go func() {
		defer returned.Done()
		listener{p}.CheckLocalTransaction(asExt(nm))
	}()
	<-entered
	closed := make(chan error)
	go func() { closed <- p.Close() }()
	// Close has cancelled Check's context (Check is past <-ctx.Done() only
	// then), and waits: release Check, then Close returns.
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if !checkDone {
		t.Fatal("Close returned before Check did")
	}
	mu.Unlock()
	returned.Wait()
	if s := (listener{p}).CheckLocalTransaction(asExt(nm)); s != primitive.UnkonwnState {
		t.Fatalf("Check after Close: %v", s)
	}
	if p.local != nil {
		t.Fatal("the producer still holds the LocalTransaction after Close")
	}
	if _, err := p.Send(context.Background(), &mq.Message{Topic: "t"}); !errors.Is(err, mq.ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
}

// asExt is nm as the broker hands it back in a check.
func asExt(nm *primitive.Message) *primitive.MessageExt {
	e := &primitive.MessageExt{}
	e.Topic, e.Body = nm.Topic, nm.Body
	e.WithProperties(nm.GetProperties())
	return e
}

// nopProducer stands in for the client's transaction producer.
type nopProducer struct{}

func (nopProducer) Start() error    { return nil }
func (nopProducer) Shutdown() error { return nil }
func (nopProducer) SendMessageInTransaction(context.Context, *primitive.Message) (*primitive.TransactionSendResult, error) {
	return nil, errors.New("not sent")
}

// TestOpenTransactionProducerErrors: bad URLs and arguments fail before
// anything is built, and no error quotes the secret key.
func TestOpenTransactionProducerErrors(t *testing.T) {
	ctx := context.Background()
	local := funcTx{}
	for _, u := range []string{
		"rocketmq://ak:s3cret@10.0.0.1:98%76",
		"rocketmq://ak:s3cret@10.0.0.1:9876?secret_key=s3cret&queus=1",
		"kafka://ak:s3cret@10.0.0.1:9876",
		"rocketmq://",
	} {
		_, err := OpenTransactionProducer(ctx, u, local)
		if !errors.Is(err, mq.ErrBadURL) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v; want mq.ErrBadURL without the secret", u, err)
		}
	}
	if _, err := OpenTransactionProducer(ctx, "rocketmq://10.0.0.1:9876", nil); !errors.Is(err, mq.ErrInvalid) {
		t.Errorf("nil LocalTransaction: %v", err)
	}
	if _, err := NewTransactionProducer(ctx, nil, nil, local); !errors.Is(err, mq.ErrInvalid) {
		t.Errorf("no name server: %v", err)
	}
	if _, err := NewTransactionProducer(ctx, []string{"10.0.0.1:9876"}, &Options{Queues: -1}, local); !errors.Is(err, mq.ErrInvalid) {
		t.Errorf("bad options: %v", err)
	}
}
