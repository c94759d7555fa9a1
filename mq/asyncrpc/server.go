package asyncrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/groundwork-go/groundwork/mq"
)

// WorkFunc does the work of an accepted request in the background. Its
// response is published to the request's response topic; an error is
// published as a 500 response naming it, so the caller's callback fires.
type WorkFunc func(ctx context.Context, r *Request) (*Response, error)

// ServerOptions configures NewServer and Handler. Zero fields take their
// defaults.
type ServerOptions struct {
	// MaxBodyBytes bounds a request body; larger ones get 413. Default
	// 1 MiB.
	MaxBodyBytes int64
	// Concurrency bounds the work running at once; a request beyond it
	// gets 503 with Retry-After. Default 64.
	Concurrency int
	// RetryAfter is the Retry-After of a 503; default 1s.
	RetryAfter time.Duration
	// WorkTimeout bounds one run of the work function; default 5m.
	WorkTimeout time.Duration
	// Idempotency keeps a message key from running twice; default
	// NewMemoryIdempotency(), which covers one process only: use
	// NewRedisIdempotency when several servers take the same calls.
	Idempotency IdempotencyStore
	// Lease is how long a claim on a call outlives its server's last
	// renewal (renewed every Lease/3 while the work runs); default 30s.
	Lease time.Duration
	// Remember is how long a completed key is remembered; default 24h.
	Remember time.Duration
	// AllowResponseTopic, when set, must accept X-Response-Topic, or the
	// request gets 400: without it a caller may have responses published
	// to any topic.
	AllowResponseTopic func(topic string) bool
	// Propagator reads the trace context from the request headers;
	// default W3C traceparent.
	Propagator propagation.TextMapPropagator
	// Logger receives background failures; default slog.Default().
	Logger *slog.Logger
}

func (o *ServerOptions) withDefaults() (ServerOptions, error) {
	r := *o
	if r.MaxBodyBytes < 0 || r.Concurrency < 0 || r.RetryAfter < 0 || r.WorkTimeout < 0 || r.Lease < 0 || r.Remember < 0 {
		return r, fmt.Errorf("%w: ServerOptions: negative value", ErrInvalid)
	}
	if r.MaxBodyBytes == 0 {
		r.MaxBodyBytes = 1 << 20
	}
	if r.Concurrency == 0 {
		r.Concurrency = 64
	}
	if r.RetryAfter == 0 {
		r.RetryAfter = time.Second
	}
	if r.WorkTimeout == 0 {
		r.WorkTimeout = 5 * time.Minute
	}
	if r.Idempotency == nil {
		r.Idempotency = NewMemoryIdempotency()
	}
	if r.Lease == 0 {
		r.Lease = 30 * time.Second
	}
	if r.Remember == 0 {
		r.Remember = 24 * time.Hour
	}
	if r.Propagator == nil {
		r.Propagator = propagation.TraceContext{}
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	return r, nil
}

// Server accepts asynchronous requests: it validates them, answers 202 at
// once and runs the work in the background, publishing the response.
type Server struct {
	mqc   *mq.Client
	work  WorkFunc
	o     ServerOptions
	owner string // this server's name in idempotency claims
	slots chan struct{}

	ctx    context.Context // cancelled by Shutdown's deadline
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
}

// NewServer returns a Server publishing responses with mqc.
func NewServer(mqc *mq.Client, work WorkFunc, o ServerOptions) (*Server, error) {
	if mqc == nil || work == nil {
		return nil, fmt.Errorf("%w: NewServer: nil mq.Client or WorkFunc", ErrInvalid)
	}
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{mqc: mqc, work: work, o: o, owner: newKey(), slots: make(chan struct{}, o.Concurrency)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Handler is NewServer as an http.Handler. A configuration error is
// logged and answered with 500 to every request; use NewServer to see it
// at startup, and to Shutdown the work in flight.
func Handler(mqc *mq.Client, work WorkFunc, o ServerOptions) http.Handler {
	s, err := NewServer(mqc, work, o)
	if err != nil {
		slog.Default().Error("asyncrpc: handler misconfigured", "err", err)
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, http.StatusInternalServerError, "asyncrpc handler misconfigured: "+err.Error())
		})
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key, topic := r.Header.Get(HeaderMessageKey), r.Header.Get(HeaderResponseTopic)
	if err := validKey(key); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := validTopic(topic); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if s.o.AllowResponseTopic != nil && !s.o.AllowResponseTopic(topic) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s %q is not allowed here", HeaderResponseTopic, topic))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.o.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over the limit of %d bytes", s.o.MaxBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	select {
	case s.slots <- struct{}{}:
	default:
		s.busy(w, "the server is at its concurrency limit")
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.slots
		s.busy(w, "the server is shutting down")
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	started := false
	defer func() {
		if !started {
			<-s.slots
			s.wg.Done()
		}
	}()
	claim, err := s.o.Idempotency.Claim(r.Context(), key, s.owner, s.o.Lease)
	if err != nil {
		s.o.Logger.Warn("asyncrpc: idempotency store failed; refusing the request", "key", key, "err", err)
		s.busy(w, "cannot check the message key now")
		return
	}
	if claim == Claimed {
		req := &Request{Method: r.Method, URL: r.URL.String(), Header: r.Header.Clone(), Body: body, MessageKey: key}
		ctx := s.o.Propagator.Extract(s.ctx, propagation.HeaderCarrier(r.Header))
		started = true
		go s.run(ctx, req, topic)
	}
	// Running or Completed: a repeat of a call already under way or done;
	// it is accepted again without running the work.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]string{"messageKey": key})
}

func (s *Server) busy(w http.ResponseWriter, why string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(max(1, s.o.RetryAfter.Round(time.Second)/time.Second))))
	writeError(w, http.StatusServiceUnavailable, why)
}

// run does the work of req while renewing its claim, publishes the
// response, and completes the key. If the response cannot be published
// the claim is released, so that a retry runs the call again.
func (s *Server) run(ctx context.Context, req *Request, topic string) {
	defer s.wg.Done()
	defer func() { <-s.slots }()
	stopRenew := s.renew(req.MessageKey)
	resp := s.call(ctx, req)
	stopRenew()
	// Published even when Shutdown's deadline cancelled the work: the
	// caller is owed its (error) response. mq's retry policy and outage
	// buffer bound and carry the publish.
	bg := context.WithoutCancel(ctx)
	msg, err := resp.toMessage(topic, req.MessageKey)
	if err == nil {
		err = s.mqc.Publish(bg, msg)
	}
	if err != nil {
		s.o.Logger.Error("asyncrpc: publishing the response failed; a retry will run the call again",
			"key", req.MessageKey, "topic", topic, "err", err)
		if err := s.o.Idempotency.Release(bg, req.MessageKey, s.owner); err != nil {
			s.o.Logger.Warn("asyncrpc: releasing the claim failed", "key", req.MessageKey, "err", err)
		}
		return
	}
	if err := s.o.Idempotency.Complete(bg, req.MessageKey, s.o.Remember); err != nil {
		s.o.Logger.Warn("asyncrpc: recording the call as done failed", "key", req.MessageKey, "err", err)
	}
}

// call runs the work function, turning an error or a panic into a 500
// response and a nil response into 204.
func (s *Server) call(ctx context.Context, req *Request) (resp *Response) {
	ctx, cancel := context.WithTimeout(ctx, s.o.WorkTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			resp = errorResponse(fmt.Errorf("work panicked: %v", p))
		}
	}()
	resp, err := s.work(ctx, req)
	switch {
	case err != nil:
		return errorResponse(err)
	case resp == nil:
		return &Response{StatusCode: http.StatusNoContent}
	case resp.StatusCode == 0:
		resp.StatusCode = http.StatusOK
	}
	return resp
}

func errorResponse(err error) *Response {
	body, _ := json.Marshal(map[string]string{"error": err.Error()})
	return &Response{StatusCode: http.StatusInternalServerError, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
}

// renew keeps the claim on key alive until the returned function is called.
func (s *Server) renew(key string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(s.o.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if ok, err := s.o.Idempotency.Renew(s.ctx, key, s.owner, s.o.Lease); err != nil || !ok {
					s.o.Logger.Warn("asyncrpc: renewing the claim failed", "key", key, "held", ok, "err", err)
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// Shutdown stops accepting requests (503) and waits for the work in
// flight to finish and publish its response. If ctx ends first, the
// work's context is cancelled; the calls it was running publish error
// responses.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	idle := make(chan struct{})
	go func() { s.wg.Wait(); close(idle) }()
	select {
	case <-idle:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		<-idle
		return ctx.Err()
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// validKey checks an X-Message-Key: 1 to 128 characters from
// [A-Za-z0-9._:-].
func validKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: missing %s header", ErrInvalid, HeaderMessageKey)
	}
	if len(key) > 128 {
		return fmt.Errorf("%w: %s is %d characters, at most 128", ErrInvalid, HeaderMessageKey, len(key))
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return fmt.Errorf("%w: %s has %q at %d; allowed: letters, digits, . _ : -", ErrInvalid, HeaderMessageKey, c, i)
		}
	}
	return nil
}

// validTopic checks an X-Response-Topic: 1 to 249 printable ASCII
// characters without spaces (Kafka's limit on length).
func validTopic(topic string) error {
	if topic == "" {
		return fmt.Errorf("%w: missing %s header", ErrInvalid, HeaderResponseTopic)
	}
	if len(topic) > 249 {
		return fmt.Errorf("%w: %s is %d characters, at most 249", ErrInvalid, HeaderResponseTopic, len(topic))
	}
	for i := 0; i < len(topic); i++ {
		if c := topic[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("%w: %s has %q at %d", ErrInvalid, HeaderResponseTopic, c, i)
		}
	}
	return nil
}
