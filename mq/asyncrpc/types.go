package asyncrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/groundwork-go/groundwork/mq"
)

// HTTP headers of an asynchronous request.
const (
	// HeaderMessageKey names the call; the response is published with it
	// as its key. Retrying a request with the same key does not run the
	// work twice.
	HeaderMessageKey = "X-Message-Key"
	// HeaderResponseTopic names the topic the response is published to.
	HeaderResponseTopic = "X-Response-Topic"
)

// Message headers of a response.
const (
	headerStatus = "asyncrpc-status" // the HTTP-style status code
	headerHTTP   = "asyncrpc-header" // the response's http.Header, as JSON
)

// Errors.
var (
	// ErrTimeout: no response arrived before the call's deadline.
	ErrTimeout = errors.New("asyncrpc: no response before the deadline")
	// ErrClosed: the client was closed before the response arrived.
	ErrClosed = errors.New("asyncrpc: client closed")
	// ErrRejected: the server did not accept the request (any status
	// but 202); the error says the status and the start of the body.
	ErrRejected = errors.New("asyncrpc: request not accepted")
	// ErrBadResponse: a response message for a call could not be decoded.
	ErrBadResponse = errors.New("asyncrpc: malformed response message")
	// ErrInvalid: an argument or option is invalid.
	ErrInvalid = errors.New("asyncrpc: invalid argument")
	// ErrLeaseLost is the cause (context.Cause) of a work context that the
	// server cancelled because its claim on the call could not be renewed:
	// another server may be running the call now, so this one publishes
	// nothing for it.
	ErrLeaseLost = errors.New("asyncrpc: claim lease lost")
)

// Request is an accepted request as the server's work function sees it.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
	// MessageKey is the call's X-Message-Key.
	MessageKey string
}

// Response is the outcome of a call: what the work function returned, or
// an error response (5xx) the server made when it failed.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte

	ctx context.Context
}

// Context returns the context the response arrived with on the client: it
// carries the trace context of the server's work, so a callback can
// continue that trace. It is context.Background() on the server side.
func (r *Response) Context() context.Context {
	if r.ctx == nil {
		return context.Background()
	}
	return r.ctx
}

// toMessage encodes r as the response message of the call key.
func (r *Response) toMessage(topic, key string) (*mq.Message, error) {
	m := &mq.Message{Topic: topic, Key: key, Payload: r.Body,
		Headers: map[string]string{headerStatus: strconv.Itoa(r.StatusCode)}}
	if len(r.Header) > 0 {
		h, err := json.Marshal(r.Header)
		if err != nil {
			return nil, fmt.Errorf("asyncrpc: encode response header: %w", err)
		}
		m.Headers[headerHTTP] = string(h)
	}
	return m, nil
}

// decodeResponse reads a response message. It is outside input: anything
// may be published to a response topic.
func decodeResponse(m *mq.Message) (*Response, error) {
	status, err := strconv.Atoi(m.Headers[headerStatus])
	if err != nil || status < 100 || status > 999 {
		return nil, fmt.Errorf("%w: %s %q", ErrBadResponse, headerStatus, m.Headers[headerStatus])
	}
	r := &Response{StatusCode: status, Body: m.Payload}
	if h, ok := m.Headers[headerHTTP]; ok {
		if err := json.Unmarshal([]byte(h), &r.Header); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadResponse, headerHTTP, err)
		}
	}
	return r, nil
}
