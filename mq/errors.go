package mq

import (
	"errors"

	"github.com/groundwork-go/groundwork/mq/driver"
)

// Errors returned by this package, matched with errors.Is. Provider errors
// are wrapped with the operation and topic.
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
