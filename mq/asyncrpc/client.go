package asyncrpc

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"go.opentelemetry.io/otel/propagation"

	"github.com/groundwork-go/groundwork/internal/retrying"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/resilience"
)

// Callback receives a call's outcome, exactly once: the response, or nil
// and ErrTimeout (or ErrClosed).
type Callback func(r *Response, err error)

// ClientOptions configures NewClient.
type ClientOptions struct {
	// ResponseTopic is where servers publish this client's responses;
	// required. Several clients may share it (see Client).
	ResponseTopic string
	// HTTPClient sends the requests; default http.DefaultClient.
	HTTPClient *http.Client
	// Timeout is how long a call waits for its response once the server
	// accepted it; default 30s.
	Timeout time.Duration
	// Retry bounds the resending of a request the server refused with 503
	// or 429, under the same message key (safe: the server runs a key at
	// most once). A Retry-After in the refusal is waited for when it is
	// longer than the policy's wait. Default: 5 attempts, waits from 50ms
	// doubling to 5s with jitter, 30s in all; MaxAttempts 1 turns retries
	// off. The ctx of Post, Do or Resend bounds it too.
	Retry resilience.RetryPolicy
	// CallbackConcurrency bounds the callbacks running at once; default 16.
	CallbackConcurrency int
	// Propagator writes the trace context into the request headers;
	// default W3C traceparent.
	Propagator propagation.TextMapPropagator
	// Logger receives callback panics; default slog.Default().
	Logger *slog.Logger
}

func (o *ClientOptions) withDefaults() (ClientOptions, error) {
	r := *o
	if r.ResponseTopic == "" {
		return r, fmt.Errorf("%w: ClientOptions.ResponseTopic is empty", ErrInvalid)
	}
	if r.Timeout < 0 || r.CallbackConcurrency < 0 {
		return r, fmt.Errorf("%w: ClientOptions: negative Timeout or CallbackConcurrency", ErrInvalid)
	}
	if err := r.Retry.Validate(); err != nil {
		return r, fmt.Errorf("%w: ClientOptions.Retry: %v", ErrInvalid, err)
	}
	r.Retry = retrying.WithDefaults(r.Retry)
	if r.HTTPClient == nil {
		r.HTTPClient = http.DefaultClient
	}
	if r.Timeout == 0 {
		r.Timeout = 30 * time.Second
	}
	if r.CallbackConcurrency == 0 {
		r.CallbackConcurrency = 16
	}
	if r.Propagator == nil {
		r.Propagator = propagation.TraceContext{}
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	return r, nil
}

// Client sends asynchronous requests and runs their callbacks when the
// responses arrive over the MQ.
//
// Every Client subscribes to the response topic in a group of its own, so
// several clients (instances of one service) can share a topic: each sees
// every response, runs callbacks only for its own calls, and never takes a
// response away from the client that made the call.
type Client struct {
	mqc *mq.Client
	o   ClientOptions
	sub *mq.Subscription
	sem chan struct{} // bounds running callbacks
	// wait sleeps between attempts of a request; tests replace it to see
	// the waits without spending them.
	wait func(ctx context.Context, d time.Duration) error

	mu     sync.Mutex
	calls  map[string]*Call
	closed bool
	recent *lru.Cache[string, bool] // recently finished keys: true if timed out
	live   sync.WaitGroup           // calls not yet settled, or running their callback

	late, dups atomic.Int64
}

// NewClient subscribes to o.ResponseTopic and returns once the
// subscription is live, so that no response to a later call is missed.
func NewClient(ctx context.Context, mqc *mq.Client, o ClientOptions) (*Client, error) {
	if mqc == nil {
		return nil, fmt.Errorf("%w: NewClient: nil mq.Client", ErrInvalid)
	}
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	recent, _ := lru.New[string, bool](16384) // size is positive: no error
	c := &Client{mqc: mqc, o: o, sem: make(chan struct{}, o.CallbackConcurrency), wait: sleep,
		calls: map[string]*Call{}, recent: recent}
	group := "asyncrpc." + newKey()
	// The group is this instance's alone and is deleted when it closes.
	c.sub, err = mqc.Subscribe(ctx, o.ResponseTopic, group, c.onResponse,
		mq.WithConcurrency(o.CallbackConcurrency), mq.WithEphemeralGroup())
	if err != nil {
		return nil, fmt.Errorf("asyncrpc: subscribe to responses: %w", err)
	}
	return c, nil
}

// Stats counts responses that reached no call.
type Stats struct {
	// Late responses arrived after their call timed out.
	Late int64
	// Duplicates arrived after their call had its response.
	Duplicates int64
}

// Stats returns the counts so far.
func (c *Client) Stats() Stats { return Stats{Late: c.late.Load(), Duplicates: c.dups.Load()} }

// Post sends body to url with Do. To retry a failed Post under the same
// message key, build the request and use Do.
func (c *Client) Post(ctx context.Context, url, contentType string, body io.Reader, cb Callback) (*Call, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	req.Header.Set("Content-Type", contentType)
	return c.Do(ctx, req, cb)
}

// Do sends req with a fresh X-Message-Key (or the one req carries, for a
// request that repeats an earlier one) and the client's X-Response-Topic,
// resending it while the server answers 503 or 429 (ClientOptions.Retry).
// It returns once the server accepted the request with 202; any other
// outcome (a transport error, another status, 503 or 429 once the retries
// are spent) is returned here and cb is never called. Otherwise cb runs exactly once: with the response, or with
// ErrTimeout when Timeout passes first.
//
// Do writes the key into req's X-Message-Key header and leaves req's body
// ready to be read again, so that after a failure (a dropped connection
// may hide an accepted request) doing req again repeats the same call:
// the server runs a key at most once.
func (c *Client) Do(ctx context.Context, req *http.Request, cb Callback) (*Call, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, fmt.Errorf("asyncrpc: read request body: %w", err)
		}
		req.Body.Close()
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	key := req.Header.Get(HeaderMessageKey)
	if key == "" {
		key = newKey()
		req.Header.Set(HeaderMessageKey, key)
	} else if err := validKey(key); err != nil {
		return nil, err
	}
	call := &Call{c: c, key: key, method: req.Method, url: req.URL.String(), header: req.Header.Clone(), body: body,
		cb: cb, done: make(chan struct{})}
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return nil, ErrClosed
	case c.calls[key] != nil:
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: a call with key %q is in flight (use its Resend)", ErrInvalid, key)
	}
	// Registered before the request goes out: the response may come
	// back before the 202 does.
	c.calls[key] = call
	c.live.Add(1)
	c.mu.Unlock()
	if err := call.send(ctx); err != nil {
		call.withdraw(err)
		return nil, err
	}
	// The deadline runs from the acceptance, so that time spent waiting
	// on a busy server does not eat into the time given to the work.
	c.mu.Lock()
	if !call.settled.Load() {
		call.timer = time.AfterFunc(c.o.Timeout, func() { call.finish(nil, ErrTimeout, true) })
	}
	c.mu.Unlock()
	return call, nil
}

// onResponse is the response subscription's handler.
func (c *Client) onResponse(ctx context.Context, m *mq.Message) error {
	c.mu.Lock()
	call := c.calls[m.Key]
	timedOut, recent := c.recent.Get(m.Key)
	c.mu.Unlock()
	switch {
	case call != nil:
		r, err := decodeResponse(m)
		if r != nil {
			r.ctx = ctx
		}
		call.finish(r, err, false)
	case recent && timedOut:
		c.late.Add(1)
	case recent:
		c.dups.Add(1)
	}
	return nil // another client's response, or one of ours already settled
}

// Close unsubscribes and ends every call still waiting with ErrClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	err := c.sub.Close()
	c.mu.Lock()
	pending := make([]*Call, 0, len(c.calls))
	for _, call := range c.calls {
		pending = append(pending, call)
	}
	c.mu.Unlock()
	for _, call := range pending {
		call.finish(nil, ErrClosed, false)
	}
	c.live.Wait() // callbacks of timeouts that fired meanwhile
	return err
}

// runCallback runs cb within the concurrency bound, recovering a panic.
func (c *Client) runCallback(call *Call) {
	if call.cb == nil {
		return
	}
	c.sem <- struct{}{}
	defer func() {
		<-c.sem
		if p := recover(); p != nil {
			c.o.Logger.Error("asyncrpc: callback panicked", "key", call.key, "panic", p)
		}
	}()
	call.cb(call.resp, call.err)
}

// Call is one request in flight.
type Call struct {
	c      *Client
	key    string
	method string
	url    string
	header http.Header
	body   []byte
	cb     Callback
	timer  *time.Timer // armed once the request is accepted; guarded by c.mu

	settled atomic.Bool
	done    chan struct{} // closed once the outcome is set and cb returned
	resp    *Response
	err     error
}

// Key returns the call's X-Message-Key.
func (call *Call) Key() string { return call.key }

// Wait returns the call's outcome once its callback has run, or ctx's
// error if ctx ends first.
func (call *Call) Wait(ctx context.Context) (*Response, error) {
	select {
	case <-call.done:
		return call.resp, call.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Resend sends the request again with the same X-Message-Key, for example
// after a server that accepted it died: the server side runs the work at
// most once per key, and answers a repeat of a completed call by
// publishing its stored response again. The deadline stays the first one.
func (call *Call) Resend(ctx context.Context) error {
	if call.settled.Load() {
		return fmt.Errorf("%w: call %s already has its outcome", ErrInvalid, call.key)
	}
	return call.send(ctx)
}

// finish settles the call once: the first of the response, the timeout
// and Close wins; it runs the callback, then releases Wait.
func (call *Call) finish(r *Response, err error, timedOut bool) {
	if !call.settled.CompareAndSwap(false, true) {
		return
	}
	c := call.c
	c.mu.Lock() // timer is set under mu, perhaps after it fired
	if call.timer != nil {
		call.timer.Stop()
	}
	delete(c.calls, call.key)
	c.recent.Add(call.key, timedOut)
	c.mu.Unlock()
	call.resp, call.err = r, err
	c.runCallback(call)
	close(call.done)
	c.live.Done()
}

// withdraw forgets a call whose request was not accepted; its callback
// never runs.
func (call *Call) withdraw(err error) {
	if !call.settled.CompareAndSwap(false, true) {
		return
	}
	c := call.c
	c.mu.Lock()
	delete(c.calls, call.key) // no timer yet: it is armed on acceptance
	c.mu.Unlock()
	call.err = err
	close(call.done)
	c.live.Done()
}

// newKey returns a fresh message key: 128 random bits in hex.
func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
