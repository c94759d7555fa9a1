package rocketmq

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	rmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/google/uuid"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// defaultTxGroup is a TransactionProducer's producer group when none is
// given: not "groundwork", the group of connections made without one,
// whose producers cannot answer the broker's check-backs.
const defaultTxGroup = "groundwork-tx"

// TransactionProducer sends RocketMQ transactional messages: each is
// stored by the broker as a half message, not delivered, until the
// LocalTransaction that Send runs commits it; when the outcome is not
// known (Execute answered TxUnknown or panicked, the process died, the
// commit was lost) the broker asks a producer of the same group
// (LocalTransaction.Check). A committed message reaches subscribers of
// its topic exactly as a published one does. See the package doc,
// "Transactional messages", for what it guarantees.
type TransactionProducer struct {
	prod    rmq.TransactionProducer
	opts    Options
	life    context.Context // the context of Check calls; cancelled by Close
	stop    context.CancelFunc
	pending sync.Map // *primitive.Message -> *txCall, for Send calls in progress

	mu     sync.Mutex
	closed bool
	local  LocalTransaction // nil once closed: the client keeps the listener for ever
	calls  sync.WaitGroup   // Send and Check calls in progress; Add only under mu

	unrouteLogs func() // ends the client's logging to opts.Logger (Close)
}

// OpenTransactionProducer returns a TransactionProducer for the cluster a
// rocketmq:// URL names (see # URLs). The URL's parameters are those of
// mq.Open; the ones about consuming are accepted and not used.
func OpenTransactionProducer(ctx context.Context, rawURL string, local LocalTransaction) (*TransactionProducer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url's error quotes the whole URL, secret key and all: keep only
		// what it found wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("rocketmq: transaction producer: %w: %v", mq.ErrBadURL, err)
	}
	if u.Scheme != Scheme {
		return nil, fmt.Errorf("rocketmq: transaction producer: %w: scheme %q, want %q", mq.ErrBadURL, u.Scheme, Scheme)
	}
	c, err := parseURL(u)
	if err != nil {
		return nil, fmt.Errorf("rocketmq: transaction producer: %w", err)
	}
	return NewTransactionProducer(ctx, c.nameServers, &c.opts, local)
}

// NewTransactionProducer returns a TransactionProducer for the cluster
// whose name servers are nameServers ("host:port"), with the producer
// settings of opts as New takes them (ProducerGroup, Namespace,
// Instance, Credentials, SendTimeout, Queues, MaxMessageBytes, Logger,
// ProducerOptions; the consumer settings are not used). Its producer
// group is opts.ProducerGroup, default "groundwork-tx": the broker asks
// any producer of the group to check a message, so the group must be one
// only TransactionProducers with the same LocalTransaction use.
func NewTransactionProducer(ctx context.Context, nameServers []string, opts *Options, local LocalTransaction) (*TransactionProducer, error) {
	if local == nil {
		return nil, fmt.Errorf("%w: rocketmq.NewTransactionProducer: nil LocalTransaction", mq.ErrInvalid)
	}
	if len(nameServers) == 0 {
		return nil, fmt.Errorf("%w: rocketmq.NewTransactionProducer: no name server", mq.ErrInvalid)
	}
	var given Options
	if opts != nil {
		if err := opts.validate(); err != nil {
			return nil, fmt.Errorf("%w: rocketmq.NewTransactionProducer: %v", mq.ErrInvalid, err)
		}
		given = *opts
	}
	if given.ProducerGroup == "" {
		given.ProducerGroup = defaultTxGroup
	}
	o := given.withDefaults()
	addrs, err := resolve(ctx, nameServers)
	if err != nil {
		return nil, err
	}
	p := &TransactionProducer{opts: o, local: local}
	p.life, p.stop = context.WithCancel(context.Background())
	tp, err := rmq.NewTransactionProducer(listener{p}, producerOptions(addrs, o)...)
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("%w: transaction producer: %v", mq.ErrInvalid, err)
	}
	p.unrouteLogs = routeLogs(o.Logger)
	if err := tp.Start(); err != nil {
		p.stop()
		_ = tp.Shutdown()
		p.unrouteLogs()
		return nil, fmt.Errorf("%w: transaction producer: %v", mq.ErrInvalid, err)
	}
	p.prod = tp
	return p, nil
}

// txCall is one Send in progress, found by the client's call of the
// listener's ExecuteLocalTransaction (which gets the native message and
// no context).
type txCall struct {
	ctx      context.Context
	m        *mq.Message
	ran      bool        // Execute was called
	panicked *localPanic // what Execute panicked with, if it did
}

// ErrExecutePanicked is wrapped by the error of a Send whose
// LocalTransaction.Execute panicked: its outcome is left to the broker's
// check-back (Check), as after a crash.
var ErrExecutePanicked = errors.New("rocketmq: LocalTransaction.Execute panicked")

// Send sends m as a half message and, once the broker stored it, runs the
// LocalTransaction's Execute with ctx and m (m.ID and m.Time filled as
// mq's Publish fills them) on the calling goroutine; the state Execute
// returns is sent to the broker, which then delivers the message
// (TxCommit), drops it (TxRollback) or checks back later (TxUnknown).
// Send returns that state.
//
// An error means one of: the half message was not stored (as far as the
// producer knows: an error wrapping mq.ErrUnreachable may follow a half
// message that was stored and is then checked back), and Execute did not
// run; it was stored without the durability the broker is configured for
// and was rolled back without running Execute (mq.ErrUnreachable, with
// TxRollback, or TxUnknown for a status the client leaves to Check); Execute panicked (ErrExecutePanicked, with TxUnknown).
// Errors are classified as Publish's are: mq.ErrInvalid, mq.ErrTooLarge
// (checked before sending), mq.ErrUnreachable (retryable), mq.ErrClosed,
// and context errors as they are.
func (p *TransactionProducer) Send(ctx context.Context, m *mq.Message) (TxState, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return TxUnknown, mq.ErrClosed
	}
	p.calls.Add(1)
	p.mu.Unlock()
	defer p.calls.Done()

	nm, err := p.prepare(m)
	if err != nil {
		return TxUnknown, err
	}
	if err := ctx.Err(); err != nil {
		return TxUnknown, err
	}
	call := &txCall{ctx: ctx, m: m}
	p.pending.Store(nm, call)
	defer p.pending.Delete(nm)
	res, err := p.sendInTransaction(ctx, nm)
	switch {
	case err != nil && ctx.Err() != nil:
		// The client reports a cancelled send as a request timeout.
		if !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return TxUnknown, err
	case err != nil:
		return TxUnknown, fmt.Errorf("rocketmq: send in transaction to %q: %w", m.Topic, err)
	case call.panicked != nil:
		return TxUnknown, fmt.Errorf("%w (message %s to %q): %v; the broker will ask Check", ErrExecutePanicked, m.ID, m.Topic, call.panicked.value)
	case !call.ran:
		// Stored without SEND_OK (not flushed or replicated as the broker
		// is configured to): the client ends it without Execute, rolled
		// back for those statuses, left to Check for any other.
		s := fromLocalState(res.State)
		return s, fmt.Errorf("rocketmq: send in transaction to %q: %w: the broker stored the half message without the durability it is configured for (status %d); Execute did not run, the message is %s",
			m.Topic, driver.ErrUnreachable, res.Status, map[TxState]string{TxRollback: "rolled back", TxCommit: "committed", TxUnknown: "left to Check"}[s])
	}
	return fromLocalState(res.State), nil
}

// prepare validates m, fills its ID and Time as Publish does, and
// converts it with Publish's mapping (toNative, nativeName), so that a
// committed message is received as a published one is.
func (p *TransactionProducer) prepare(m *mq.Message) (*primitive.Message, error) {
	if m == nil {
		return nil, fmt.Errorf("rocketmq: send in transaction: %w: message is nil", mq.ErrInvalid)
	}
	wrap := func(err error) error { return fmt.Errorf("rocketmq: send in transaction to %q: %w", m.Topic, err) }
	if m.Topic == "" {
		return nil, wrap(fmt.Errorf("%w: empty Topic", mq.ErrInvalid))
	}
	if m.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, wrap(fmt.Errorf("new message ID: %w", err))
		}
		m.ID = id.String()
	}
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	dm := *m
	dm.Attempt = 0
	if limit := p.opts.MaxMessageBytes - messageFraming; dm.Size() > limit {
		return nil, wrap(fmt.Errorf("%w: message (ID %s) is %d bytes, the limit is %d", mq.ErrTooLarge, m.ID, dm.Size(), limit))
	}
	nm, err := toNative(&dm)
	if err != nil {
		return nil, wrap(err)
	}
	if nm.Topic, err = nativeName("topic", nm.Topic, maxTopicLen-nsRoom(p.opts.Namespace)); err != nil {
		return nil, wrap(err)
	}
	return nm, nil
}

// sendInTransaction calls the client, turning a panic of the client's own
// (it dereferences the broker's offset message ID unchecked) into an
// error; Execute's panics are recovered in the listener.
func (p *TransactionProducer) sendInTransaction(ctx context.Context, nm *primitive.Message) (res *primitive.TransactionSendResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the RocketMQ client panicked: %v; the broker will ask Check if the half message was stored", r)
		}
	}()
	res, err = p.prod.SendMessageInTransaction(ctx, nm)
	return res, mapErr(err)
}

// As hands out the native transaction producer
// (*rocketmq.TransactionProducer, the client's interface type).
func (p *TransactionProducer) As(target any) bool {
	if t, ok := target.(*rmq.TransactionProducer); ok {
		*t = p.prod
		return true
	}
	return false
}

// Close cancels the context of a Check in progress, waits for the Send
// and Check calls in progress to return, and shuts the producer down.
// Half messages not yet resolved stay with the broker, which checks them
// back with another producer of the group (or this one's successor).
// Idempotent; afterwards Send returns mq.ErrClosed. One of the client's
// goroutines outlives it (see the package doc).
func (p *TransactionProducer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	p.stop()
	p.calls.Wait()
	err := p.prod.Shutdown()
	if p.unrouteLogs != nil { // nil in tests that build p by hand
		p.unrouteLogs()
	}
	p.mu.Lock()
	p.local = nil // the client's check loop keeps the listener, and so p, for ever
	p.mu.Unlock()
	return err
}

// mqTopic is the mq topic whose RocketMQ name is native (see # Names),
// without the namespace: the inverse of nativeName. A name is decoded
// when it reads as escapes ("_" and two upper-case hex digits) and
// nativeName writes the decoded name back as it; any other is the mq name
// itself (nativeName is one-to-one, so there is one answer).
func mqTopic(native, namespace string) string {
	if namespace != "" {
		native = strings.TrimPrefix(native, namespace+"%")
	}
	if !strings.Contains(native, "_") {
		return native
	}
	var b strings.Builder
	for i := 0; i < len(native); i++ {
		if native[i] != '_' {
			b.WriteByte(native[i])
			continue
		}
		v, ok := unhex2(native[i+1:])
		if !ok {
			return native
		}
		b.WriteByte(v)
		i += 2
	}
	if enc, err := nativeName("topic", b.String(), len(native)); err != nil || enc != native {
		return native
	}
	return b.String()
}

// unhex2 reads two upper-case hex digits, as nativeName writes them.
func unhex2(s string) (byte, bool) {
	if len(s) < 2 {
		return 0, false
	}
	var v byte
	for _, c := range []byte(s[:2]) {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}
