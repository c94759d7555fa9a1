package mq

import (
	"context"
	"errors"
	"strings"

	"github.com/groundwork-go/groundwork/internal/breaker"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// Errors returned by this package, matched with errors.Is. Provider errors
// are wrapped with the operation, the topic and the provider.
var (
	// ErrClosed: the Client or Subscription was closed.
	ErrClosed = errors.New("mq: closed")
	// ErrCircuitOpen: the circuit breaker is open after repeated broker
	// failures; the call was not attempted.
	ErrCircuitOpen = errors.New("mq: circuit open")
	// ErrTooLarge: a message is over the provider's size limit. Nothing
	// from the Publish call was sent.
	ErrTooLarge = driver.ErrTooLarge
	// ErrUnreachable: the broker could not be reached.
	ErrUnreachable = driver.ErrUnreachable
	// ErrUnsupported: the provider lacks a capability the call needs.
	ErrUnsupported = driver.ErrUnsupported
	// ErrBadURL: Open was given a malformed URL or an unknown parameter.
	ErrBadURL = driver.ErrBadURL
	// ErrInvalid: an argument is missing or malformed (empty topic, nil
	// message, nil handler, bad option); the message names it.
	ErrInvalid = errors.New("mq: invalid argument")
	// ErrBufferFull: the outage buffer reached its size cap while the
	// broker was unreachable; the message was not accepted.
	ErrBufferFull = errors.New("mq: outage buffer full")
)

// opError is the failure of one call that reached the provider:
// "mq: <op>: <cause>", where op names the call, its topic and the provider
// (`publish to "orders" via kafka`). The cause's own leading "mq: " (that
// of the sentinel it starts with) is left out of the text, so that the
// package is named once; errors.Is and errors.As see the cause.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string {
	return "mq: " + e.op + ": " + strings.TrimPrefix(e.err.Error(), "mq: ")
}

func (e *opError) Unwrap() error { return e.err }

// wrapOp returns err, a failure of op, as the caller sees it: a context
// error as it is, the breaker's refusal as ErrCircuitOpen, anything else
// wrapped in an opError. An unreachable broker is wrapped even when the
// context ended too (the caller gave up waiting to retry, Open ran out of
// its deadline): the error says what the broker did, and errors.Is still
// sees the context's error.
func wrapOp(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) && !errors.Is(err, ErrUnreachable):
		return err
	case errors.Is(err, breaker.ErrOpen):
		err = ErrCircuitOpen
	}
	return &opError{op: op, err: err}
}
