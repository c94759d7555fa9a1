// Package resilience holds the policies a service sets for the retries and
// circuit breakers that Groundwork's packages wrap around every call to a
// broker or a storage backend: RetryPolicy and BreakerPolicy. Package mq
// takes them through mq.WithRetry, mq.WithRedeliveryBackoff and
// mq.WithBreaker; package filestore through filestore.ServiceOptions.Retry
// and .Breaker; package asyncrpc through asyncrpc.ClientOptions.Retry.
//
// A policy is plain data: the zero value of each is usable, and every field
// left zero takes the default named in its comment, so a policy states only
// what it changes:
//
//	mq.WithRetry(resilience.RetryPolicy{MaxAttempts: 10})
//
// The packages that take a policy check it with its Validate method when
// they are configured, and report an impossible value as an error naming
// the field.
//
// Which errors are retried, and which count against a breaker, each
// package documents; in all of them an answer about the request itself (a
// bad argument, a message too large, a file that does not exist) is
// neither retried nor counted, and neither is the caller's context ending.
package resilience
