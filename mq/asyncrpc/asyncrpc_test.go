package asyncrpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/asyncrpc"
	"github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/resilience"
)

const patience = 2 * time.Minute

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testserver.WaitFor(t, patience, what, cond)
}

func memMQ(t *testing.T, name string, opts ...mq.Option) *mq.Client {
	t.Helper()
	c, err := mq.Open(context.Background(), "mem://"+name, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// gate holds work back until unblock is called, which may be done more
// than once: a test unblocks mid-way and defers unblock too, so that
// a test failing before that does not leave Shutdown waiting on held work.
func gate() (held <-chan struct{}, unblock func()) {
	ch := make(chan struct{})
	var once sync.Once
	return ch, func() { once.Do(func() { close(ch) }) }
}

// echo answers with the request body, upper-cased, and the message key.
func echo(_ context.Context, r *asyncrpc.Request) (*asyncrpc.Response, error) {
	return &asyncrpc.Response{StatusCode: 200, Header: http.Header{"X-Key": {r.MessageKey}}, Body: bytes.ToUpper(r.Body)}, nil
}

// serve starts an asyncrpc server for work on an httptest server.
func serve(t *testing.T, mqc *mq.Client, work asyncrpc.WorkFunc, o asyncrpc.ServerOptions) (*asyncrpc.Server, string) {
	t.Helper()
	s, err := asyncrpc.NewServer(mqc, work, o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		if err := s.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return s, hs.URL
}

func client(t *testing.T, mqc *mq.Client, o asyncrpc.ClientOptions) *asyncrpc.Client {
	t.Helper()
	if o.ResponseTopic == "" {
		o.ResponseTopic = "test.responses"
	}
	c, err := asyncrpc.NewClient(context.Background(), mqc, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// outcome records what callbacks received.
type outcome struct {
	mu    sync.Mutex
	calls map[string]int
	resps map[string]*asyncrpc.Response
	errs  map[string]error
}

func newOutcome() *outcome {
	return &outcome{calls: map[string]int{}, resps: map[string]*asyncrpc.Response{}, errs: map[string]error{}}
}

func (o *outcome) callback(id string) asyncrpc.Callback {
	return func(r *asyncrpc.Response, err error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.calls[id]++
		o.resps[id], o.errs[id] = r, err
	}
}

// checkEachOnce waits for the callbacks of calls "call-0".."call-<n-1>",
// closes the clients (Close waits for callbacks in flight and no callback
// runs after it, so the counts are final) and checks that each call's
// callback ran exactly once with its echoed, upper-cased response.
func (o *outcome) checkEachOnce(t *testing.T, clients []*asyncrpc.Client, n int) {
	t.Helper()
	waitFor(t, "every callback", func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return len(o.calls) == n
	})
	for _, c := range clients {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range n {
		id := fmt.Sprint("call-", i)
		if r := o.resps[id]; o.calls[id] != 1 || o.errs[id] != nil || r == nil || string(r.Body) != strings.ToUpper(id) {
			t.Fatalf("%s: callback ran %d times, err %v, response %+v", id, o.calls[id], o.errs[id], r)
		}
	}
}

func (o *outcome) count(id string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.calls[id]
}

func TestRoundTrip(t *testing.T) {
	mqc := memMQ(t, "roundtrip")
	_, url := serve(t, mqc, echo, asyncrpc.ServerOptions{})
	c := client(t, mqc, asyncrpc.ClientOptions{})
	out := newOutcome()
	call, err := c.Post(context.Background(), url+"/orders", "text/plain", strings.NewReader("hello"), out.callback("a"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := call.Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != 200 || string(r.Body) != "HELLO" || r.Header.Get("X-Key") != call.Key() {
		t.Fatalf("response %d %q %v, want 200 HELLO with the key %s", r.StatusCode, r.Body, r.Header, call.Key())
	}
	if n := out.count("a"); n != 1 {
		t.Fatalf("callback ran %d times", n)
	}
}

func TestRequestPathErrorsSkipTheCallback(t *testing.T) {
	mqc := memMQ(t, "reqpath")
	c := client(t, mqc, asyncrpc.ClientOptions{Timeout: 50 * time.Millisecond})
	var called atomic.Int32
	cb := func(*asyncrpc.Response, error) { called.Add(1) }

	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	if _, err := c.Post(context.Background(), deadURL, "text/plain", nil, cb); err == nil {
		t.Error("Post to a closed port returned no error")
	}
	if _, err := c.Post(context.Background(), "://no-scheme", "text/plain", nil, cb); !errors.Is(err, asyncrpc.ErrInvalid) {
		t.Errorf("Post to an invalid URL: %v, want ErrInvalid", err)
	}
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no such route", http.StatusNotFound)
	}))
	defer plain.Close()
	_, err := c.Post(context.Background(), plain.URL, "text/plain", nil, cb)
	if !errors.Is(err, asyncrpc.ErrRejected) || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "no such route") {
		t.Errorf("Post answered 404: %v, want ErrRejected naming the status and body", err)
	}
	// Past the timeout of any of those calls: no callback ever ran.
	time.Sleep(100 * time.Millisecond)
	if n := called.Load(); n != 0 {
		t.Fatalf("callback ran %d times for requests that were never accepted", n)
	}
}

func post(t *testing.T, url string, header map[string]string, body string) (*http.Response, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]string
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("status %d, body %q is not JSON: %v", resp.StatusCode, raw, err)
	}
	return resp, m
}

func TestServerValidation(t *testing.T) {
	mqc := memMQ(t, "validation")
	_, url := serve(t, mqc, echo, asyncrpc.ServerOptions{MaxBodyBytes: 8,
		AllowResponseTopic: func(topic string) bool { return strings.HasPrefix(topic, "resp.") }})
	ok := map[string]string{asyncrpc.HeaderMessageKey: "k-1", asyncrpc.HeaderResponseTopic: "resp.x"}
	with := func(k, v string) map[string]string {
		h := map[string]string{}
		for a, b := range ok {
			h[a] = b
		}
		if v == "" {
			delete(h, k)
		} else {
			h[k] = v
		}
		return h
	}
	cases := []struct {
		name   string
		header map[string]string
		body   string
		status int
		want   string
	}{
		{"no key", with(asyncrpc.HeaderMessageKey, ""), "", 400, "missing X-Message-Key"},
		{"bad key", with(asyncrpc.HeaderMessageKey, "a b"), "", 400, "X-Message-Key has ' '"},
		{"long key", with(asyncrpc.HeaderMessageKey, strings.Repeat("k", 129)), "", 400, "at most 128"},
		{"no topic", with(asyncrpc.HeaderResponseTopic, ""), "", 400, "missing X-Response-Topic"},
		{"topic not allowed", with(asyncrpc.HeaderResponseTopic, "other"), "", 400, "not allowed"},
		{"body too large", ok, "123456789", 413, "over the limit of 8 bytes"},
		{"accepted", ok, "12345678", 202, ""},
	}
	for _, tc := range cases {
		resp, m := post(t, url, tc.header, tc.body)
		if resp.StatusCode != tc.status || !strings.Contains(m["error"], tc.want) {
			t.Errorf("%s: %d %v, want %d with an error containing %q", tc.name, resp.StatusCode, m, tc.status, tc.want)
		}
		if tc.status == 202 && m["messageKey"] != "k-1" {
			t.Errorf("accepted: body %v, want the message key", m)
		}
	}
}

// TestFullQueueAnswers503: requests beyond the running work wait in the
// queue; only a request that finds the queue full (by count or by bytes)
// gets 503 with Retry-After, and its key stays free for its retry.
func TestFullQueueAnswers503(t *testing.T) {
	mqc := memMQ(t, "saturation")
	release, unblock := gate()
	defer unblock()
	var started atomic.Int32
	_, url := serve(t, mqc, func(ctx context.Context, r *asyncrpc.Request) (*asyncrpc.Response, error) {
		started.Add(1)
		<-release
		return echo(ctx, r)
	}, asyncrpc.ServerOptions{Concurrency: 1, MaxQueued: 2, MaxBodyBytes: 100, MaxQueuedBytes: 350, RetryAfter: 3 * time.Second})
	h := map[string]string{asyncrpc.HeaderMessageKey: "running", asyncrpc.HeaderResponseTopic: "r.responses"}
	if resp, _ := post(t, url, h, ""); resp.StatusCode != 202 {
		t.Fatalf("first request: %d", resp.StatusCode)
	}
	waitFor(t, "the first work to start", func() bool { return started.Load() == 1 })
	h[asyncrpc.HeaderMessageKey] = "queued"
	if resp, m := post(t, url, h, strings.Repeat("q", 100)); resp.StatusCode != 202 {
		t.Fatalf("a request queued behind the running one: %d %v", resp.StatusCode, m)
	}
	h[asyncrpc.HeaderMessageKey] = "too-many-bytes"
	resp, m := post(t, url, h, strings.Repeat("b", 100)) // with its headers, past 350 bytes queued
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "3" || !strings.Contains(m["error"], "queue is full") {
		t.Fatalf("queue full by bytes: %d Retry-After %q %v, want 503, 3 and an error", resp.StatusCode, resp.Header.Get("Retry-After"), m)
	}
	h[asyncrpc.HeaderMessageKey] = "queued-2"
	if resp, m := post(t, url, h, ""); resp.StatusCode != 202 {
		t.Fatalf("a second queued request: %d %v", resp.StatusCode, m)
	}
	h[asyncrpc.HeaderMessageKey] = "too-many"
	if resp, m := post(t, url, h, ""); resp.StatusCode != 503 || !strings.Contains(m["error"], "queue is full") {
		t.Fatalf("queue full by count: %d %v, want 503", resp.StatusCode, m)
	}
	unblock()
	// The refused keys were released: their retries are accepted and run.
	waitFor(t, "the queue to drain", func() bool { return started.Load() == 3 })
	for _, key := range []string{"too-many", "too-many-bytes"} {
		h[asyncrpc.HeaderMessageKey] = key
		if resp, m := post(t, url, h, ""); resp.StatusCode != 202 {
			t.Fatalf("retry of %s: %d %v", key, resp.StatusCode, m)
		}
	}
	waitFor(t, "the retried calls to run", func() bool { return started.Load() == 5 })
}

func TestSameKeyRunsOnce(t *testing.T) {
	mqc := memMQ(t, "samekey")
	var runs atomic.Int32
	_, url := serve(t, mqc, func(ctx context.Context, r *asyncrpc.Request) (*asyncrpc.Response, error) {
		runs.Add(1)
		return echo(ctx, r)
	}, asyncrpc.ServerOptions{})
	h := map[string]string{asyncrpc.HeaderMessageKey: "once", asyncrpc.HeaderResponseTopic: "r.responses"}
	for range 3 {
		if resp, _ := post(t, url, h, "x"); resp.StatusCode != 202 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	waitFor(t, "the work to run", func() bool { return runs.Load() >= 1 })
	// A repeat after completion is accepted and not run either.
	time.Sleep(20 * time.Millisecond)
	if resp, _ := post(t, url, h, "x"); resp.StatusCode != 202 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("the work ran %d times for one key", n)
	}
}

func TestTimeoutThenLateResponse(t *testing.T) { testTimeoutOn(t, "mem://timeout") }

func TestDuplicateResponseIgnored(t *testing.T) {
	mqc := memMQ(t, "dup")
	var key atomic.Value
	_, url := serve(t, mqc, func(ctx context.Context, r *asyncrpc.Request) (*asyncrpc.Response, error) {
		key.Store(r.MessageKey)
		return echo(ctx, r)
	}, asyncrpc.ServerOptions{})
	c := client(t, mqc, asyncrpc.ClientOptions{})
	out := newOutcome()
	call, err := c.Post(context.Background(), url, "text/plain", strings.NewReader("x"), out.callback("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// At-least-once: the same response again.
	dup := &mq.Message{Topic: "test.responses", Key: call.Key(), Payload: []byte("X"), Headers: map[string]string{"asyncrpc-status": "200"}}
	if err := mqc.Publish(context.Background(), dup); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the duplicate to be counted", func() bool { return c.Stats().Duplicates == 1 })
	if n := out.count("x"); n != 1 {
		t.Fatalf("callback ran %d times", n)
	}
}

func TestWorkErrorAndPanicAreResponses(t *testing.T) {
	mqc := memMQ(t, "workerr")
	_, url := serve(t, mqc, func(_ context.Context, r *asyncrpc.Request) (*asyncrpc.Response, error) {
		if string(r.Body) == "panic" {
			panic("boom")
		}
		return nil, errors.New("out of stock")
	}, asyncrpc.ServerOptions{})
	c := client(t, mqc, asyncrpc.ClientOptions{})
	for body, want := range map[string]string{"fail": "out of stock", "panic": "work panicked: boom"} {
		call, err := c.Post(context.Background(), url, "text/plain", strings.NewReader(body), nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := call.Wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode != 500 || !strings.Contains(string(r.Body), want) {
			t.Errorf("%s: %d %s, want 500 naming %q", body, r.StatusCode, r.Body, want)
		}
	}
}

func TestPanickingCallbackDoesNotStopTheClient(t *testing.T) {
	mqc := memMQ(t, "cbpanic")
	_, url := serve(t, mqc, echo, asyncrpc.ServerOptions{})
	c := client(t, mqc, asyncrpc.ClientOptions{CallbackConcurrency: 1})
	for i := range 3 {
		call, err := c.Post(context.Background(), url, "text/plain", strings.NewReader("x"), func(*asyncrpc.Response, error) {
			panic(fmt.Sprint("callback ", i))
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := call.Wait(context.Background()); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

// TestTwoClientsShareATopic: each client instance runs callbacks for its
// own calls only, and none takes another's responses.
func TestTwoClientsShareATopic(t *testing.T) {
	mqc := memMQ(t, "shared")
	_, url := serve(t, mqc, echo, asyncrpc.ServerOptions{})
	a, b := client(t, mqc, asyncrpc.ClientOptions{}), client(t, mqc, asyncrpc.ClientOptions{})
	out := newOutcome()
	var calls []*asyncrpc.Call
	for i := range 50 {
		c, id := a, fmt.Sprint("a", i)
		if i%2 == 1 {
			c, id = b, fmt.Sprint("b", i)
		}
		call, err := c.Post(context.Background(), url, "text/plain", strings.NewReader(id), out.callback(id))
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, call)
	}
	for i, call := range calls {
		r, err := call.Wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprint("a", i)
		if i%2 == 1 {
			id = fmt.Sprint("b", i)
		}
		if string(r.Body) != strings.ToUpper(id) || out.count(id) != 1 {
			t.Fatalf("call %s: body %q, callback ran %d times", id, r.Body, out.count(id))
		}
	}
}

func TestTraceFlowsToTheCallback(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	mqc := memMQ(t, "trace", mq.WithTracerProvider(tp))
	var workTrace atomic.Value
	_, url := serve(t, mqc, func(ctx context.Context, r *asyncrpc.Request) (*asyncrpc.Response, error) {
		workTrace.Store(trace.SpanContextFromContext(ctx).TraceID())
		return echo(ctx, r)
	}, asyncrpc.ServerOptions{})
	c := client(t, mqc, asyncrpc.ClientOptions{})
	ctx, span := tp.Tracer("test").Start(context.Background(), "checkout")
	defer span.End()
	got := make(chan trace.TraceID, 1)
	call, err := c.Post(ctx, url, "text/plain", strings.NewReader("x"), func(r *asyncrpc.Response, _ error) {
		got <- trace.SpanContextFromContext(r.Context()).TraceID()
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := span.SpanContext().TraceID()
	if w := workTrace.Load(); w != want {
		t.Errorf("work ran in trace %v, want %v", w, want)
	}
	if cb := <-got; cb != want {
		t.Errorf("callback got trace %v, want %v", cb, want)
	}
}

func TestCloseEndsPendingCalls(t *testing.T) {
	mqc := memMQ(t, "close")
	release := make(chan struct{})
	defer close(release)
	_, url := serve(t, mqc, func(ctx context.Context, r *asyncrpc.Request) (*asyncrpc.Response, error) {
		<-release
		return echo(ctx, r)
	}, asyncrpc.ServerOptions{})
	c, err := asyncrpc.NewClient(context.Background(), mqc, asyncrpc.ClientOptions{ResponseTopic: "closing.responses"})
	if err != nil {
		t.Fatal(err)
	}
	out := newOutcome()
	call, err := c.Post(context.Background(), url, "text/plain", nil, out.callback("p"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := call.Wait(context.Background()); !errors.Is(err, asyncrpc.ErrClosed) || out.count("p") != 1 {
		t.Fatalf("pending call after Close: %v, callback ran %d times", err, out.count("p"))
	}
	if _, err := c.Post(context.Background(), url, "text/plain", nil, nil); !errors.Is(err, asyncrpc.ErrClosed) {
		t.Fatalf("Post after Close: %v", err)
	}
}

func TestOptionsValidated(t *testing.T) {
	mqc := memMQ(t, "opts")
	if _, err := asyncrpc.NewClient(context.Background(), mqc, asyncrpc.ClientOptions{}); !errors.Is(err, asyncrpc.ErrInvalid) {
		t.Errorf("no response topic: %v", err)
	}
	for name, o := range map[string]asyncrpc.ServerOptions{
		"negative concurrency":       {Concurrency: -1},
		"negative queue":             {MaxQueued: -1},
		"queue smaller than a body":  {MaxBodyBytes: 1 << 20, MaxQueuedBytes: 1 << 10},
		"queue smaller than default": {MaxQueuedBytes: 1 << 10},
	} {
		if _, err := asyncrpc.NewServer(mqc, echo, o); !errors.Is(err, asyncrpc.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := asyncrpc.NewClient(context.Background(), mqc, asyncrpc.ClientOptions{ResponseTopic: "x.responses",
		Retry: resilience.RetryPolicy{Jitter: 2}}); !errors.Is(err, asyncrpc.ErrInvalid) {
		t.Errorf("bad retry policy: %v", err)
	}
	rec := httptest.NewRecorder()
	asyncrpc.Handler(nil, echo, asyncrpc.ServerOptions{}).ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "misconfigured") {
		t.Errorf("misconfigured Handler: %d %s", rec.Code, rec.Body)
	}
}

// TestResponseSurvivesBrokerOutage: the broker is down when the work
// finishes; the server's outage buffer holds the response and sends it
// once the broker is back, and the callback runs.
func TestResponseSurvivesBrokerOutage(t *testing.T) {
	broker, err := memmq.Named("outage", nil)
	if err != nil {
		t.Fatal(err)
	}
	serverMQ := memMQ(t, "outage", mq.WithOutageBuffer(t.TempDir()),
		mq.WithRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 10 * time.Millisecond, MaxAttempts: 2}),
		mq.WithBreaker(resilience.BreakerPolicy{OpenTimeout: 20 * time.Millisecond}))
	release, unblock := gate()
	defer unblock()
	_, url := serve(t, serverMQ, func(ctx context.Context, r *asyncrpc.Request) (*asyncrpc.Response, error) {
		<-release
		return echo(ctx, r)
	}, asyncrpc.ServerOptions{})
	c := client(t, memMQ(t, "outage"), asyncrpc.ClientOptions{})
	call, err := c.Post(context.Background(), url, "text/plain", strings.NewReader("buffered"), nil)
	if err != nil {
		t.Fatal(err)
	}
	broker.SetReachable(false)
	unblock()
	waitFor(t, "the response in the outage buffer", func() bool { return serverMQ.Buffered() > 0 })
	broker.SetReachable(true)
	r, err := call.Wait(context.Background())
	if err != nil || string(r.Body) != "BUFFERED" {
		t.Fatalf("after the outage: %v %v", r, err)
	}
}

// TestCallbackConcurrencyIsBounded: no more than CallbackConcurrency
// callbacks run at once, however many responses are waiting.
func TestCallbackConcurrencyIsBounded(t *testing.T) {
	mqc := memMQ(t, "cbbound")
	_, url := serve(t, mqc, echo, asyncrpc.ServerOptions{})
	c := client(t, mqc, asyncrpc.ClientOptions{CallbackConcurrency: 2})
	var running, peak atomic.Int32
	release, unblock := gate()
	defer unblock()
	var calls []*asyncrpc.Call
	for range 10 {
		call, err := c.Post(context.Background(), url, "text/plain", strings.NewReader("x"), func(*asyncrpc.Response, error) {
			n := running.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			<-release
			running.Add(-1)
		})
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, call)
	}
	waitFor(t, "two callbacks to be running", func() bool { return running.Load() == 2 })
	unblock()
	for _, call := range calls {
		if _, err := call.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if p := peak.Load(); p != 2 {
		t.Fatalf("%d callbacks ran at once, want at most (and here exactly) 2", p)
	}
}
