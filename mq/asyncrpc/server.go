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
	// Concurrency bounds the work running at once; accepted requests
	// beyond it wait in the queue. Default 64.
	Concurrency int
	// MaxQueued bounds the accepted requests waiting for a worker; a
	// request beyond it gets 503 with Retry-After. Default 10,000.
	MaxQueued int
	// MaxQueuedBytes bounds the bodies and headers of the requests
	// waiting for a worker, likewise. Default 64 MiB, or MaxBodyBytes if
	// that is larger; it may not be below MaxBodyBytes.
	MaxQueuedBytes int64
	// RetryAfter is the Retry-After of a 503; default 1s.
	RetryAfter time.Duration
	// WorkTimeout bounds one run of the work function; default 5m.
	WorkTimeout time.Duration
	// Idempotency keeps a message key from running twice and keeps its
	// response for repeats; default NewMemoryIdempotency(), which covers
	// one process only: use NewRedisIdempotency when several servers take
	// the same calls.
	Idempotency IdempotencyStore
	// Lease is how long a claim on a call outlives its server's last
	// renewal (renewed every Lease/3 while the work runs); default 30s.
	Lease time.Duration
	// Remember is how long a completed key and its response are kept;
	// default 24h.
	Remember time.Duration
	// AllowResponseTopic must accept X-Response-Topic, or the request
	// gets 400. Default IsResponseTopic: only topics named
	// "<name>.responses". AllowAnyResponseTopic lets every caller have
	// responses published to any topic.
	AllowResponseTopic func(topic string) bool
	// Propagator reads the trace context from the request headers;
	// default W3C traceparent.
	Propagator propagation.TextMapPropagator
	// Logger receives background failures; default slog.Default().
	Logger *slog.Logger
}

func (o *ServerOptions) withDefaults() (ServerOptions, error) {
	r := *o
	if r.MaxBodyBytes < 0 || r.Concurrency < 0 || r.MaxQueued < 0 || r.MaxQueuedBytes < 0 ||
		r.RetryAfter < 0 || r.WorkTimeout < 0 || r.Lease < 0 || r.Remember < 0 {
		return r, fmt.Errorf("%w: ServerOptions: negative value", ErrInvalid)
	}
	if r.MaxBodyBytes == 0 {
		r.MaxBodyBytes = 1 << 20
	}
	if r.Concurrency == 0 {
		r.Concurrency = 64
	}
	if r.MaxQueued == 0 {
		r.MaxQueued = 10000
	}
	switch {
	case r.MaxQueuedBytes == 0:
		r.MaxQueuedBytes = max(64<<20, r.MaxBodyBytes)
	case r.MaxQueuedBytes < r.MaxBodyBytes:
		// A body the server accepts must fit in its queue.
		return r, fmt.Errorf("%w: ServerOptions: MaxQueuedBytes %d is below MaxBodyBytes %d", ErrInvalid, r.MaxQueuedBytes, r.MaxBodyBytes)
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
	if r.AllowResponseTopic == nil {
		r.AllowResponseTopic = IsResponseTopic
	}
	if r.Propagator == nil {
		r.Propagator = propagation.TraceContext{}
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	return r, nil
}

// Server accepts asynchronous requests: it validates them, claims their
// message key, queues them and answers 202 at once; workers run the work
// in the background and publish the responses.
type Server struct {
	mqc   *mq.Client
	work  WorkFunc
	o     ServerOptions
	owner string // this server's name in idempotency claims
	q     *queue

	ctx    context.Context // cancelled by Shutdown's deadline
	cancel context.CancelFunc
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
	s := &Server{mqc: mqc, work: work, o: o, owner: newKey()}
	s.q = &queue{maxJobs: o.MaxQueued, maxBytes: o.MaxQueuedBytes, maxWorkers: o.Concurrency, run: s.run}
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
	if !s.o.AllowResponseTopic(topic) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s %q is not allowed here (by default a response topic is named <name>%s)",
			HeaderResponseTopic, topic, ResponseTopicSuffix))
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
	res, stored, err := s.o.Idempotency.Claim(r.Context(), key, s.owner, s.o.Lease)
	if err != nil {
		s.o.Logger.Warn("asyncrpc: idempotency store failed; refusing the request", "key", key, "err", err)
		s.busy(w, "cannot check the message key now")
		return
	}
	j := &job{
		req:   &Request{Method: r.Method, URL: r.URL.String(), Header: r.Header.Clone(), Body: body, MessageKey: key},
		topic: topic, claimed: time.Now(),
	}
	switch res {
	case Completed:
		// A repeat of a finished call, perhaps because its response was
		// lost: publish the stored one again, from the queue like any work.
		j.completed, j.stored = true, stored
	case Running:
		// A repeat of a call under way: its response is coming.
		accepted(w, key)
		return
	}
	j.size = int64(len(j.req.Body)+len(j.req.URL)+len(j.stored)) + headerSize(j.req.Header)
	if err := s.q.push(j); err != nil {
		if res == Claimed {
			s.release(key)
		}
		s.busy(w, err.Error())
		return
	}
	accepted(w, key)
}

func accepted(w http.ResponseWriter, key string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(map[string]string{"messageKey": key})
}

func (s *Server) busy(w http.ResponseWriter, why string) {
	w.Header().Set("Retry-After", strconv.Itoa(int(max(1, s.o.RetryAfter.Round(time.Second)/time.Second))))
	writeError(w, http.StatusServiceUnavailable, why)
}

func headerSize(h http.Header) int64 {
	var n int
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v)
		}
	}
	return int64(n)
}

// Shutdown stops accepting requests (503) and waits for the queued and
// running work to finish and publish its responses. If ctx ends first,
// the running work's context is cancelled (those calls publish error
// responses) and the calls still queued are released unanswered, so that
// a resend runs them on another server.
func (s *Server) Shutdown(ctx context.Context) error {
	idle := s.q.close()
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
