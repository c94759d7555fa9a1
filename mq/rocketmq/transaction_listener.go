package rocketmq

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/apache/rocketmq-client-go/v2/primitive"

	"github.com/groundwork-go/groundwork/mq"
)

// TxState is the outcome of a local transaction, as a LocalTransaction
// reports it to the broker.
type TxState int

const (
	// TxUnknown leaves the half message with the broker, which asks
	// Check again later (RocketMQ checks a message up to 15 times, then
	// drops it). The zero value, and what any state not listed here means.
	TxUnknown TxState = iota
	// TxCommit has the broker deliver the message.
	TxCommit
	// TxRollback has the broker drop the message.
	TxRollback
)

// String returns "unknown", "commit" or "rollback".
func (s TxState) String() string {
	switch s {
	case TxCommit:
		return "commit"
	case TxRollback:
		return "rollback"
	}
	return "unknown"
}

// LocalTransaction is the application's side of a transactional message.
//
// Execute runs the local transaction that m's delivery depends on (say,
// a database transaction that also records m.ID) and reports its outcome;
// it runs within Send, once the broker stored m as a half message, with
// Send's context.
//
// Check reports the outcome of the local transaction of m, a half message
// whose outcome the broker does not know: Execute answered TxUnknown or
// panicked, the commit was lost, or the process died before sending it.
// m is as a subscriber would receive it (ID, Key, Headers, Time as sent);
// the broker may ask any producer of the group, any number of times, also
// about a message whose Send returned an error (Execute never ran: answer
// TxRollback when there is no record of m.ID), so Check must read durable
// state and have no effect of its own. Its context is cancelled by Close.
//
// A panic in either is recovered: a panicking Execute counts as
// TxUnknown (Send returns ErrExecutePanicked), a panicking Check as
// TxUnknown (logged to Options.Logger).
type LocalTransaction interface {
	Execute(ctx context.Context, m *mq.Message) TxState
	Check(ctx context.Context, m *mq.Message) TxState
}

// listener is the client's TransactionListener for a TransactionProducer:
// it maps the client's calls (which carry no context) onto the
// LocalTransaction, recovering its panics. The client's own recovery
// would end the goroutine that answers every later check-back.
type listener struct{ p *TransactionProducer }

var _ primitive.TransactionListener = listener{}

// ExecuteLocalTransaction runs Execute for the Send call that sent nm.
func (l listener) ExecuteLocalTransaction(nm *primitive.Message) primitive.LocalTransactionState {
	v, ok := l.p.pending.Load(nm)
	if !ok {
		return primitive.UnkonwnState // not ours: the broker will ask Check
	}
	call := v.(*txCall)
	call.ran = true
	l.p.mu.Lock()
	local := l.p.local
	l.p.mu.Unlock()
	if local == nil {
		return primitive.UnkonwnState
	}
	return toLocalState(runLocal(func() TxState { return local.Execute(call.ctx, call.m) }, &call.panicked))
}

// CheckLocalTransaction runs Check for a message the broker asks about.
func (l listener) CheckLocalTransaction(e *primitive.MessageExt) primitive.LocalTransactionState {
	p := l.p
	p.mu.Lock()
	local := p.local
	if p.closed || local == nil {
		p.mu.Unlock()
		return primitive.UnkonwnState
	}
	p.calls.Add(1)
	p.mu.Unlock()
	defer p.calls.Done()
	m := fromNative(e, mqTopic(e.Topic, p.opts.Namespace))
	var panicked *localPanic
	s := runLocal(func() TxState { return local.Check(p.life, &m) }, &panicked)
	if panicked != nil {
		p.opts.Logger.LogAttrs(context.Background(), slog.LevelError, "rocketmq: LocalTransaction.Check panicked; the broker will ask again",
			slog.String("topic", m.Topic), slog.String("id", m.ID), slog.String("panic", fmt.Sprint(panicked.value)),
			slog.String("stack", string(panicked.stack)))
	}
	return toLocalState(s)
}

// localPanic is what a LocalTransaction method panicked with, and where.
type localPanic struct {
	value any
	stack []byte
}

// runLocal calls f, turning a panic into TxUnknown recorded in *panicked.
func runLocal(f func() TxState, panicked **localPanic) (s TxState) {
	defer func() {
		if r := recover(); r != nil {
			*panicked = &localPanic{value: r, stack: debug.Stack()}
			s = TxUnknown
		}
	}()
	return f()
}

// toLocalState maps a TxState to the client's; anything not TxCommit or
// TxRollback is unknown, the one state that loses nothing.
func toLocalState(s TxState) primitive.LocalTransactionState {
	switch s {
	case TxCommit:
		return primitive.CommitMessageState
	case TxRollback:
		return primitive.RollbackMessageState
	}
	return primitive.UnkonwnState
}

// fromLocalState is the inverse of toLocalState.
func fromLocalState(s primitive.LocalTransactionState) TxState {
	switch s {
	case primitive.CommitMessageState:
		return TxCommit
	case primitive.RollbackMessageState:
		return TxRollback
	}
	return TxUnknown
}
