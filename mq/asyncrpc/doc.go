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
//	// server side: publishes only to "<name>.responses" topics by default
//	http.Handle("/checkout", asyncrpc.Handler(mqClient, checkout, asyncrpc.ServerOptions{}))
//
// # Protocol
//
// The request carries X-Message-Key (a fresh random key per call; at most
// 128 characters of [A-Za-z0-9._:-]) and X-Response-Topic. The server
// answers 400 with {"error": ...} for a missing or invalid header or a
// response topic it does not allow, 413 for a body over MaxBodyBytes, 503
// with Retry-After when its queue is full or its idempotency store does
// not answer, and otherwise 202 with {"messageKey": ...} once the body is
// read and the request is queued. The response is published to the
// response topic with the message key as its key: payload = body, header
// asyncrpc-status = the status code, asyncrpc-header = the HTTP header as
// JSON. Trace context travels in the request's traceparent, into the
// work's context, into the response message, and to the callback through
// Response.Context.
//
// # Defaults
//
// Accepting does not wait for running work: an accepted request waits in
// the server's queue until one of its Concurrency workers (default 64)
// takes it. The queue holds at most MaxQueued requests (default 10,000)
// and MaxQueuedBytes of bodies and headers (default 64 MiB), enough for
// bursts of thousands; only a request that finds it full gets 503 with
// Retry-After (default 1s).
//
// A server publishes only to response topics named "<name>.responses"
// (IsResponseTopic, ResponseTopicSuffix), so an HTTP caller cannot have it
// publish into another topic of the broker, such as another service's
// command topic. Name ClientOptions.ResponseTopic so, or set
// ServerOptions.AllowResponseTopic (AllowAnyResponseTopic allows all).
//
// The client resends a request the server refused with 503 or 429, under
// the same message key, waiting at least the Retry-After it was given:
// within ClientOptions.Retry (default 5 attempts, 30s in all) and the
// ctx of the call.
//
// # Guarantees
//
// Client: Post and Do return every request-path failure (transport
// errors, invalid URLs, any status but 202 once retries are spent)
// themselves, and then the callback never runs; Do leaves the call's key
// on the request, so doing it again repeats the same call. For an
// accepted call the callback runs exactly once: with the response, with
// ErrTimeout at the call's deadline (ClientOptions.Timeout from the
// acceptance), or with ErrClosed if the client closes first. A response
// after the timeout is dropped and counted (Stats.Late); a repeated
// response (the MQ delivers at least once, and a repeated request gets
// the response again) is ignored and counted (Stats.Duplicates). The
// response topic is subscribed before NewClient returns, so no response
// is missed. Each client subscribes in a consumer group of its own, so
// client instances can share a response topic: each sees every response
// and keeps its own. The price is that every instance reads every
// response on the topic. The group is deleted from the broker when the
// client closes (mq.WithEphemeralGroup); an instance that dies without
// closing leaves its group behind (on Kafka until the broker expires its
// offsets, on Redis until someone deletes it).
//
// Server: the work for one message key runs at most once while the key is
// remembered (Remember, default 24h), across servers that share an
// IdempotencyStore (NewRedisIdempotency) and across retries. A server
// claims the key when it accepts the request, with a lease it renews while
// the work runs; if it dies, the lease runs out and a resend (Call.Resend,
// or any request with the same X-Message-Key) runs the work on another
// server. A server that cannot renew its lease (another server took the
// call, or the store stayed unreachable for a whole lease) cancels the
// work's context with the cause ErrLeaseLost and publishes nothing for
// it. A work error or panic is published as a 500 response, so the
// callback fires. The response is stored with the key before it is
// published: a repeat of a completed call publishes the stored response
// again without running the work, so a resend recovers a response that
// was lost (a failed publish, or a server that died with the response in
// its outage buffer).
//
// # Where a response can still be lost
//
// The callback lives in the client's memory and the client reads responses
// in a consumer group of its own that starts at the moment it subscribes.
// So a client process that dies (or closes) after the 202 and before the
// response arrives loses that response: the server publishes it, but no
// live group of that client reads it, and a restarted client subscribes
// after it was published. Nothing tells the restarted process that the
// call was made. To survive a client crash, record the call's key
// (Call.Key, or a key you choose, set in the X-Message-Key header of the
// request you pass to Do) durably before or with whatever started the
// call, and after a restart do the call again with that key: a server
// that completed it within Remember publishes its stored response again
// without running the work, one that is still running it publishes when
// done, and a key it no longer remembers is run again. Server-side losses
// (a server dying with the work running, or with the response in its
// outage buffer) are covered by Call.Resend within the same process.
//
// # Errors
//
// ErrTimeout, ErrClosed, ErrRejected (with the status and the start of the
// body), ErrBadResponse (a response message that does not decode),
// ErrInvalid (arguments and options), ErrLeaseLost (the cause of a work
// context cancelled because the server lost its claim).
package asyncrpc
