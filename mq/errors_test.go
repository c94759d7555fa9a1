package mq_test

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
	"github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/resilience"
)

// packagePrefix matches a package's prefix in an error text: "mq: ",
// "memmq: ", "redismq: "... An error from mq names one package, once, at
// its start.
var packagePrefix = regexp.MustCompile(`\b[a-z]*mq: `)

func checkOnePrefix(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	s := err.Error()
	if got := packagePrefix.FindAllStringIndex(s, -1); len(got) != 1 || got[0][0] != 0 {
		t.Errorf("%s: %q names a package %d times, want once, at the start", what, s, len(got))
	}
}

// TestErrorTextNamesPackageOnce: the errors of the common mistakes and of
// an outage read "mq: <what>: <why>", never "mq: open …: mq: bad URL" or
// "mq: publish … via mem: memmq: …".
func TestErrorTextNamesPackageOnce(t *testing.T) {
	ctx := context.Background()
	type check struct {
		what string
		err  error
		is   error
	}
	var checks []check
	add := func(what string, is, err error) { checks = append(checks, check{what, err, is}) }
	open := func(rawURL string, opts ...mq.Option) error {
		c, err := mq.Open(ctx, rawURL, opts...)
		if err == nil {
			c.Close()
		}
		return err
	}
	add("unregistered scheme", mq.ErrBadURL, open("nope://x"))
	add("unknown parameter", mq.ErrBadURL, open("mem://errtext?bogus=1"))
	add("bad parameter", mq.ErrBadURL, open("mem://errtext?partitions=zero"))
	add("path", mq.ErrBadURL, open("mem://errtext/path"))
	add("bad option", mq.ErrInvalid, open("mem://errtext", mq.WithRetry(resilience.RetryPolicy{Jitter: 2})))
	_, err := mq.NewClient(nil)
	add("NewClient(nil)", mq.ErrInvalid, err)

	broker := memmq.NewBroker(&memmq.Options{MaxMessageBytes: 1 << 10})
	broker.SetTopicMaxMessageBytes("small", 100)
	c, err := mq.NewClient(memmq.New(broker), quiet,
		mq.WithRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxAttempts: 2}),
		mq.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 2, OpenTimeout: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	nop := func(context.Context, *mq.Message) error { return nil }
	add("nil message", mq.ErrInvalid, c.Publish(ctx, nil))
	add("empty topic", mq.ErrInvalid, c.Publish(ctx, &mq.Message{}))
	add("too large for the client", mq.ErrTooLarge, c.Publish(ctx, &mq.Message{Topic: "t", Payload: make([]byte, 2<<10)}))
	add("too large for the topic", mq.ErrTooLarge, c.Publish(ctx, &mq.Message{Topic: "small", Payload: make([]byte, 200)}))
	_, err = c.Subscribe(ctx, "t", "", nop)
	add("empty group", mq.ErrInvalid, err)
	_, err = c.Subscribe(ctx, "t", "g", nop, mq.WithConcurrency(0))
	add("bad subscribe option", mq.ErrInvalid, err)

	broker.SetReachable(false)
	add("publish, unreachable", mq.ErrUnreachable, c.Publish(ctx, &mq.Message{Topic: "t"}))
	add("publish, breaker open", mq.ErrCircuitOpen, c.Publish(ctx, &mq.Message{Topic: "t"}))
	_, err = c.Subscribe(ctx, "t", "g", nop)
	add("subscribe, breaker open", mq.ErrCircuitOpen, err)
	add("ping, unreachable", mq.ErrUnreachable, c.Ping(ctx))
	c2, err := mq.NewClient(memmq.New(broker), quiet, mq.WithRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxAttempts: 2}))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	_, err = c2.Subscribe(ctx, "t", "g", nop)
	add("subscribe, unreachable", mq.ErrUnreachable, err)
	memmqNamed(t, "errtext-down").SetReachable(false)
	add("open, unreachable", mq.ErrUnreachable, open("mem://errtext-down"))
	broker.SetReachable(true)

	unpingable, err := mq.NewClient(struct{ driver.Conn }{memmq.New(broker)})
	if err != nil {
		t.Fatal(err)
	}
	add("ping, unsupported", mq.ErrUnsupported, unpingable.Ping(ctx))
	unpingable.Close()
	c2.Close()
	add("publish after Close", mq.ErrClosed, c2.Publish(ctx, &mq.Message{Topic: "t"}))

	for _, ch := range checks {
		if !errors.Is(ch.err, ch.is) {
			t.Errorf("%s: %v, want %v", ch.what, ch.err, ch.is)
		}
		checkOnePrefix(t, ch.what, ch.err)
		t.Logf("%s: %v", ch.what, ch.err)
	}
}

// memmqNamed returns the process-wide memmq broker of that name.
func memmqNamed(t *testing.T, name string) *memmq.Broker {
	t.Helper()
	b, err := memmq.Named(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSubscribeWhileBreakerOpen: after the breaker opened, Subscribe's
// error is ErrCircuitOpen, as Publish's is.
func TestSubscribeWhileBreakerOpen(t *testing.T) {
	ctx := context.Background()
	broker := memmq.NewBroker(nil)
	c, err := mq.NewClient(memmq.New(broker), quiet,
		mq.WithRetry(resilience.RetryPolicy{MaxAttempts: 1}),
		mq.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker.SetReachable(false)
	defer broker.SetReachable(true)
	if err := c.Publish(ctx, &mq.Message{Topic: "t"}); !errors.Is(err, mq.ErrUnreachable) {
		t.Fatalf("publish: %v, want ErrUnreachable", err)
	}
	_, err = c.Subscribe(ctx, "t", "g", func(context.Context, *mq.Message) error { return nil })
	if !errors.Is(err, mq.ErrCircuitOpen) {
		t.Fatalf("subscribe while the breaker is open: %v, want ErrCircuitOpen", err)
	}
}

// TestOpenChecksReachability: Open fails with ErrUnreachable, naming the
// URL, when the broker does not answer; WithLazyConnect opens anyway, and
// with an outage buffer Publish buffers until the broker is back.
func TestOpenChecksReachability(t *testing.T) {
	ctx := context.Background()
	broker := memmqNamed(t, "open-down")
	broker.SetReachable(false)
	c, err := mq.Open(ctx, "mem://open-down")
	if !errors.Is(err, mq.ErrUnreachable) || !strings.Contains(err.Error(), "mem://open-down") {
		t.Fatalf("Open of an unreachable broker: %v, %v; want ErrUnreachable naming the URL", c, err)
	}

	lazy, err := mq.Open(ctx, "mem://open-down", mq.WithLazyConnect(), mq.WithOutageBuffer(t.TempDir()), quiet,
		mq.WithBreaker(resilience.BreakerPolicy{OpenTimeout: 10 * time.Millisecond}))
	if err != nil {
		t.Fatalf("lazy Open of an unreachable broker: %v", err)
	}
	defer lazy.Close()
	if err := lazy.Publish(ctx, &mq.Message{Topic: "t", Payload: []byte("buffered")}); err != nil || lazy.Buffered() != 1 {
		t.Fatalf("publish while down: %v, %d buffered; want it buffered", err, lazy.Buffered())
	}
	got := make(chan string, 1)
	broker.SetReachable(true)
	reader, err := mq.Open(ctx, "mem://open-down")
	if err != nil {
		t.Fatalf("Open once the broker is back: %v", err)
	}
	defer reader.Close()
	// The group is new: it gets what the flusher sends from now on. The
	// flusher may have sent the message already; then publish a marker.
	sub, err := reader.Subscribe(ctx, "t", "g", func(_ context.Context, m *mq.Message) error {
		select {
		case got <- string(m.Payload):
		default:
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := lazy.Publish(ctx, &mq.Message{Topic: "t", Payload: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "buffered" && p != "after" {
			t.Fatalf("got %q", p)
		}
	case <-time.After(time.Minute):
		t.Fatal("nothing arrived after the broker came back")
	}
}

// hangConn is a connection whose Ping ignores its context and answers
// only when the connection is closed, as a go-redis ping to a server that
// accepted the connection and answers nothing waits out read_timeout.
type hangConn struct {
	driver.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *hangConn) Ping(context.Context) error {
	<-c.closed
	return errors.New("use of closed network connection")
}

func (c *hangConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

type hangDriver struct{ opened chan *hangConn }

func (d hangDriver) Open(context.Context, *url.URL) (driver.Conn, error) {
	c := &hangConn{Conn: memmq.New(memmq.NewBroker(nil)), closed: make(chan struct{})}
	d.opened <- c
	return c, nil
}

var hangOpened = make(chan *hangConn, 10)

func init() { mq.Register("hang", hangDriver{opened: hangOpened}) }

// TestOpenGivesUpAtTheDeadline: Open returns when ctx's deadline passes,
// however long the provider's ping would wait, with ErrUnreachable (and
// context.DeadlineExceeded), having closed the connection; a cancelled
// ctx is context.Canceled.
func TestOpenGivesUpAtTheDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c, err := mq.Open(ctx, "hang://broker:1234")
	if !errors.Is(err, mq.ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "broker:1234") {
		t.Fatalf("Open past the deadline: %v, %v; want ErrUnreachable and DeadlineExceeded, naming the address", c, err)
	}
	checkOnePrefix(t, "open past the deadline", err)
	select {
	case <-(<-hangOpened).closed:
	default:
		t.Fatal("Open left the connection open")
	}

	ctx, cancel = context.WithCancel(context.Background())
	go func() {
		<-hangOpened // opened: the ping is about to wait
		cancel()
	}()
	if _, err := mq.Open(ctx, "hang://broker:1234"); !errors.Is(err, context.Canceled) || errors.Is(err, mq.ErrUnreachable) {
		t.Fatalf("Open with a cancelled context: %v, want context.Canceled", err)
	}
}
