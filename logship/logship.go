// Package logship ships a service's logs reliably — a log/slog Handler
// whose records are batched, optionally buffered on disk, redacted and
// sampled, and delivered to a Sink (an mq topic, Elasticsearch's bulk
// API, a file) — and holds the pipeline behind it: the Indexer that
// drains a topic into Elasticsearch, the Archiver that keeps a cold copy,
// and the Alerter that watches error rates.
//
// Work in progress (issue 18): this commit holds the types the pieces
// share — Record, Sink and its per-record outcomes, the errors. Nothing
// ships yet.
//
// # Elasticsearch
//
// ElasticsearchSink writes each batch as one _bulk request with
// go-elasticsearch (esapi.BulkRequest): the action line names the index
// (IndexOptions.Index, a pattern such as "logs-{service}-{2006.01.02}":
// daily indices per service by @timestamp, in UTC) or the data stream
// (IndexOptions.DataStream, with the create action data streams require),
// and _id is the record's event id, so a record delivered twice is stored
// once (index overwrites itself; create answers 409, counted as stored).
// The answer is read item by item: a 429 or 5xx item is a retryable
// Failure, any other refusal (a mapping error) a permanent one carrying
// the store's error type and reason (*ItemError); one bad document never
// fails the batch around it. A record whose JSON is not one object fails
// alone without being sent (it would break the NDJSON framing). An answer
// that does not account for exactly the documents sent, in order (fewer
// or more items, an unknown action, a missing status, another _id,
// malformed JSON), is a retryable *BulkError: nothing is attributed to
// the wrong record, and sending again is safe thanks to the _ids. A
// request that fails as a whole is a *BulkError: retryable for a 429, a
// 5xx or a connection that failed, permanent for other 4xx; a 413 splits
// the batch in halves, and a single document still too large fails alone,
// permanently. Sinks do not retry; turn the client's own retries off
// (elasticsearch.Config.DisableRetry) to leave retrying to logship.
// VictoriaLogs works as the store through its Elasticsearch endpoint
// (address ".../insert/elasticsearch", headers VL-Msg-Field: message and
// VL-Time-Field: @timestamp); it keeps no _id, so it does not dedup.
//
// # Indexer
//
// The Indexer drains a topic into Elasticsearch (Logstash's role).
// Delivery is at least once, made idempotent by _id = event id: a message
// is acknowledged only after the bulk request holding its document
// succeeded for that document; a crash, a lost answer or a Shutdown
// before that leaves it to be redelivered, and storing it again changes
// nothing (in indices and data streams; not in a store that keeps no _id).
// Messages are batched by count, bytes and interval (WithIndexerBatch)
// across the subscription's concurrent handlers, with WithIndexerWorkers
// requests in flight. No order is kept between documents.
//
// Failures. A document refused with a retryable status (429, 5xx) is
// retried alone, in a later batch, with WithIndexerRetry's backoff; when
// those attempts run out its message goes back to mq (an attempt counted;
// past the subscription's WithMaxAttempts, the dead-letter topic). A
// document refused for good (a mapping error) and a message that is no
// record (RecordFromMessage fails) are dead-lettered at once
// (mq.Permanent), the store's reason in mq.HeaderDLQError; their
// neighbours are indexed. A request that fails as a whole with a
// retryable error (the store down or overloaded, a malformed answer) is
// retried for as long as it lasts: consumption waits, nothing is
// dead-lettered for an outage. One refused as a whole for good (401, 403)
// goes back to mq, whose attempts and dead-letter topic then apply.
//
// Template and ILM. At Start the Indexer puts an ILM policy (hot, with
// rollover for data streams; warm after TemplateOptions.WarmAfter, 7 days;
// delete after DeleteAfter, 90 days) and an index template (3 shards,
// 1 replica, refresh_interval 30s, the policy, mappings for the ECS fields)
// and reads both back. A store that does not keep them (VictoriaLogs
// answers {} to anything; others 404) is logged once at warn level and
// reported by Installed; indexing goes on without them.
// WithIndexerRequireTemplate makes it a Start error instead.
//
// Shutdown waits for the documents being indexed and acknowledges them;
// handlers waiting to retry give their messages back at once. Past
// Shutdown's context, the request in flight is abandoned and its messages
// redelivered. Metrics: logship.indexer.documents by outcome (indexed,
// retried, dead_letter, handed_back), logship.indexer.bulk.requests by
// outcome and logship.indexer.bulk.duration (seconds in total), to
// WithIndexerMeterProvider. The estest package is an in-process
// Elasticsearch double for tests.
package logship

import "errors"

// Errors of the package, matched with errors.Is.
var (
	// ErrClosed is returned by every call after Shutdown.
	ErrClosed = errors.New("logship: closed")
	// ErrInvalid wraps a bad argument or option, named in the message.
	ErrInvalid = errors.New("logship: invalid argument")
	// ErrDropped is reported (to the error handler and the metrics, never
	// to slog, whose Handle cannot fail a caller) for a record the full
	// queue's policy dropped.
	ErrDropped = errors.New("logship: record dropped")
)
