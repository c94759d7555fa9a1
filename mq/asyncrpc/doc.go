// Package asyncrpc turns an HTTP call into an asynchronous one: the
// request travels over HTTP (so validation and routing errors come back at
// once, through the load balancers and auth already in place), the server
// answers 202 Accepted and works in the background, and the response comes
// back over the MQ (decoupled and persistent) to a callback registered for
// the call.
//
//	// client side
//	c, err := asyncrpc.NewClient(ctx, mqClient, asyncrpc.ClientOptions{ResponseTopic: "orders.responses"})
//	call, err := c.Post(ctx, "http://orders/checkout", "application/json", body,
//		func(r *asyncrpc.Response, err error) { ... })
//	resp, err := call.Wait(ctx) // or rely on the callback alone
//
//	// server side
//	http.Handle("/checkout", asyncrpc.Handler(mqClient, checkout, asyncrpc.ServerOptions{}))
//
// # Protocol
//
// The request carries X-Message-Key (a fresh random key per call; at most
// 128 characters of [A-Za-z0-9._:-]) and X-Response-Topic. The server
// answers 400 with {"error": ...} for a missing or invalid header, 413 for
// a body over MaxBodyBytes, 503 with Retry-After when its work slots are
// full, and otherwise 202 with {"messageKey": ...} once the body is read.
// The response is published to the response topic with the message key as
// its key: payload = body, header asyncrpc-status = the status code,
// asyncrpc-header = the HTTP header as JSON. Trace context travels in the
// request's traceparent, into the work's context, into the response
// message, and to the callback through Response.Context.
//
// # Guarantees
//
// Client: Post and Do return every request-path failure (transport
// errors, invalid URLs, any status but 202) themselves, and then the
// callback never runs. For an accepted call the callback runs exactly
// once: with the response, with ErrTimeout at the call's deadline
// (ClientOptions.Timeout from Do), or with ErrClosed if the client closes
// first. A response after the timeout is dropped and counted
// (Stats.Late); a repeated response (the MQ delivers at least once) is
// ignored and counted (Stats.Duplicates). The response topic is
// subscribed before NewClient returns, so no response is missed. Each
// client subscribes in a consumer group of its own, so client instances
// can share a response topic: each sees every response and keeps its own.
// The price is that every instance reads every response on the topic. The
// group is deleted from the broker when the client closes
// (mq.WithEphemeralGroup); an instance that dies without closing leaves
// its group behind (on Kafka until the broker expires its offsets, on
// Redis until someone deletes it).
//
// Server: the work for one message key runs at most once while the key is
// remembered (Remember, default 24h), across servers that share an
// IdempotencyStore (NewRedisIdempotency) and across retries. A server
// claims the key with a lease it renews while working; if it dies
// mid-work, the lease runs out and a resend (Call.Resend, or any request
// with the same X-Message-Key) runs the work on another server. A work
// error or panic is published as a 500 response, so the callback fires. A
// response that cannot be published (after mq's retries, or into its
// outage buffer when the mq.Client has one) releases the claim, so that a
// resend runs the call again.
//
// # Errors
//
// ErrTimeout, ErrClosed, ErrRejected (with the status and the start of the
// body), ErrBadResponse (a response message that does not decode),
// ErrInvalid (arguments and options).
package asyncrpc
