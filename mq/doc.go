// Package mq is one messaging API over Kafka, Redis Streams, RocketMQ and
// an in-process broker. A provider is chosen by the URL scheme and
// registered by a blank import:
//
//	import _ "github.com/groundwork-go/groundwork/mq/memmq" // mem://
//
//	client, err := mq.Open(ctx, "mem://", mq.WithOutageBuffer("/var/lib/app/mq"))
//	err = client.Publish(ctx, &mq.Message{Topic: "orders", Key: orderID, Payload: body})
//	sub, err := client.Subscribe(ctx, "orders", "billing", handle, mq.WithConcurrency(8))
//
// The portable layer does the shared work once, for every provider:
// retries and a circuit breaker around the broker, a crash-safe disk
// buffer for outages, per-key ordering under concurrency, redelivery with
// backoff, dead-lettering, dedup, trace propagation and metrics.
//
// # URLs
//
// The scheme picks the provider; the rest is the provider's, documented in
// its package: mem:// (memmq), kafka:// (kafkamq), redis:// and rediss://
// (redismq), rocketmq:// (rocketmq). Unknown query parameters are an error,
// so a typo never silently falls back to a default. An unregistered scheme
// gives an error listing the registered ones.
//
// Open checks that the broker answers (one ping, within Open's context)
// before it returns: a broker that is down is an error at start-up, not at
// the first Publish. WithLazyConnect skips the check, for a service that
// must start while the broker may be down and relies on the outage buffer.
//
// # Guarantees
//
// Publishing. Publish returns nil only once the broker acknowledged every
// message, or, with WithOutageBuffer while the broker is unreachable or the
// breaker open, once the messages are durably in the disk buffer; a
// background flusher republishes them in order when the broker answers.
// While the buffer holds anything, new messages go behind it, so per-key
// order holds across an outage. Without a buffer an unreachable broker
// gives an error after the retry policy, and then ErrCircuitOpen at once
// while the breaker is open.
//
// Refused while buffered. A Publish that has returned nil can no longer
// report an error, so the flusher classifies what the broker answers: a
// transient failure (the provider calls it retryable, or the breaker is
// open) is retried with the retry policy's backoff, for as long as it
// lasts; anything else is the broker refusing the messages for good. A
// refused batch is split in halves down to single messages, so that only
// the messages refused on their own are set aside, and the rest go on in
// order. Such a message is published to "<topic>.dlq" with HeaderDLQError
// (the broker's answer) and HeaderDLQTopic set, and no HeaderDLQGroup;
// when that is refused too, it goes to the quarantine, a crash-safe file in
// the buffer's directory (Client.Quarantined lists it,
// Client.RedriveQuarantined publishes it again). A buffered record that
// does not decode, or the part of a buffer file damaged on disk (whose
// records cannot be read), goes to the quarantine as bytes. Each such message is
// logged at error level with its topic and the error, and counted. Nothing
// is dropped, and nothing holds up the messages behind it: the entry is
// durable before the buffer lets go of the message, so a crash in between
// gives it twice (at least once), never not at all. The buffer's size cap
// (WithOutageBufferMaxBytes) counts acknowledged records only until the
// segment holding them is full, an eighth of the cap at most.
//
// Delivery is at least once, to every consumer group. A message is
// acknowledged only after its handler returned nil. A group receives every
// message published after its first Subscribe returned.
//
// Failures. A handler error or panic has the message handled again after
// an exponential backoff (WithRedeliveryBackoff), up to WithMaxAttempts
// (default 5), holding back only its own key; then it is published to the
// dead-letter topic ("<topic>.dlq" unless WithDeadLetterTopic says
// otherwise) with the HeaderDLQ* headers naming the error, the attempts,
// the topic and the group, and acknowledged. A handler says more with
// its error: Permanent(err) dead-letters the message after this attempt,
// for failures no retry can fix; RetryAfter(err, d) has the next attempt
// come after d (at most MaxRetryAfter) instead of the backoff's wait, and
// still counts as an attempt. Either way HeaderDLQError carries err's text,
// and errors.Is and errors.As see err through the mark. If the dead-letter publish itself fails after
// the client's retry policy (WithRetry), the message is handed back for
// redelivery, logged and counted (mq.consumed outcome
// "dead_letter_failed"), and its key moves on; on Kafka its offset stays
// uncommitted until then. Attempts count handler runs, not deliveries: a
// message handed back because its member left, a partition was revoked or
// the subscription shut down is not a failed attempt, and neither is an
// error a handler returns once Shutdown has begun (unless Permanent): a
// handler may give its message back because of the shutdown. They count across
// members where the provider keeps a count (redismq and memmq do, Kafka
// does not): a message whose handling kills its member every time is
// dead-lettered, without running the handler, once its attempts pass the
// limit.
//
// Rebalances. When a provider moves a partition to another member, the
// messages this member queued and had not started are handed back at
// once, and only the handlers running are waited for (or, when ownership
// is already lost, told through their context); so a hand-over takes as
// long as the slowest running handler, not the whole prefetch.
//
// Order. Messages with one key reach handlers in publish order and never
// concurrently, with any WithConcurrency and any number of members in the
// group; different keys run in parallel. Messages with an empty key are
// not ordered.
//
// Dedup. With WithDedup, a message whose ID the group already handled
// successfully is acknowledged without running the handler, and two
// deliveries of one ID never run at once: the ID is claimed in the store
// before the handler starts (the second waits, without counting an
// attempt). NewMemoryDedup serves one process; redismq.NewDedup shares
// the IDs across processes.
//
// Content. ID (a UUIDv7 when left empty), Key, Headers and Payload arrive
// unchanged. The trace context of the publishing context travels in the
// traceparent header and becomes the parent of the handler's context.
//
// Shutdown. Subscription.Close and Client.Close wait for running handlers
// and acknowledge their messages; messages received but not started are
// handed back to the group. Shutdown(ctx) bounds the wait: past it,
// handlers' contexts are cancelled and their messages left for
// redelivery, and Shutdown returns once they have returned. Close called
// from inside a handler is refused with ErrInvalid (it would wait for
// itself). No goroutine outlives Close.
//
// # Errors
//
// Sentinels, matched with errors.Is: ErrInvalid (bad argument, named in the
// message), ErrBadURL, ErrTooLarge (nothing from the call was sent),
// ErrUnreachable, ErrCircuitOpen, ErrBufferFull, ErrUnsupported, ErrClosed.
// A broker that cannot be reached is ErrUnreachable from every call that
// needs it (Open, Publish, Subscribe, Ping, a subscription leaving its
// group), and once the circuit breaker opened, ErrCircuitOpen from Publish
// and Subscribe (Ping always asks the broker). With WithOutageBuffer,
// Publish and RedriveQuarantined buffer instead, and Quarantined reads
// only the local file. Open running out of its context's deadline before
// the broker answered is ErrUnreachable too (and matches
// context.DeadlineExceeded), and so is a call whose context ended while it
// waited to retry an unreachable broker (matching the context's error);
// otherwise context errors are returned unwrapped.
//
// Errors read "mq: <call>: <cause>", naming the package once and the call,
// its topic and the provider once: "mq: publish to "orders" via kafka:
// broker unreachable: dial tcp 10.0.0.7:9092: connect: connection
// refused", "mq: open mem://x?bogus=1: bad URL: unknown parameter
// "bogus" ...".
//
// # As
//
// Client.As(target) hands out the provider's native client; each provider
// package lists the types it accepts (for example **memmq.Broker,
// **kgo.Client, *redis.UniversalClient). Subscription.As(target) hands out
// the native consumer of one subscription, where the provider gives each
// member one of its own (**kgo.Client for kafkamq, *rocketmq.PushConsumer
// for rocketmq; memmq and redismq have none: their members read through
// the client). That consumer belongs to the subscription: read its state,
// but do not poll, commit, pause or close it. Once Close or Shutdown has
// begun, Subscription.As returns false. A nil target, or a nil pointer,
// is false for both.
//
// # Observability
//
// Spans go to WithTracerProvider (default: the global provider): "mq
// publish" (producer) when the caller's span is recording, and "mq process"
// (consumer) for a message that carries a trace context, continuing it.
// Messages outside any trace are handled without a span, so tracing costs
// nothing per message for services that do not trace. Counters mq.published and mq.consumed, by outcome,
// mq.outage_buffer.refused (outcome dead_letter or quarantined), and the
// gauges mq.outage_buffer.publishes and mq.outage_buffer.quarantined go to
// WithMeterProvider (default: the global provider). They are observed at collection time, so the hot path
// only bumps atomics. Background failures are logged to WithLogger
// (default slog.Default()), once per streak.
package mq
