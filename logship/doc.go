// Package logship ships a service's logs reliably and holds the pipeline
// behind them — the collector's, Logstash's and the alerting's jobs of an
// ELK platform, done in Go.
//
// In the service, a Shipper takes records from log/slog (Shipper.Handler)
// and from plain lines (Shipper.Writer), encodes them as ECS JSON, redacts
// and samples them, and delivers them in batches to a Sink: a topic
// (MQSink, over package mq: Kafka, Redis Streams, ...), Elasticsearch's
// bulk API (ElasticsearchSink) or a file (FileSink). A bounded queue keeps
// memory in check; WithBuffer adds a crash-safe disk buffer; failed records
// are retried alone and permanent failures dead-lettered, never a whole
// batch lost for one bad document:
//
//	sink := logship.MQSink(client, "logs")
//	shipper, err := logship.NewShipper(sink, logship.WithBuffer("/var/lib/myapp/logbuf"))
//	if err != nil { ... }
//	defer shipper.Shutdown(ctx)
//	slog.SetDefault(slog.New(shipper.Handler(&logship.HandlerOptions{
//		Service: "orders", Version: "1.4.2", Env: "production",
//		Redact:  logship.DefaultRules(),
//	})))
//
// Behind the topic, an Indexer drains it into Elasticsearch (_id = event
// id, so redelivery is harmless; index template and ILM policy installed),
// an Archiver writes it to a filestore.Store (S3 in production) as the cold
// tier, read back with ReadArchive, and an Alerter watches each service's
// error rate against its own baseline. examples/logpipeline runs the whole
// pipeline on embedded defaults.
//
// # Records
//
// A Handler (Shipper.Handler) turns each slog record into one ECS JSON
// document, the shape Kibana and Grafana's Elasticsearch source read
// unchanged: "@timestamp" (RFC 3339, UTC, nanoseconds), "log.level"
// (lower case; a custom level keeps slog's name, "warn+2"), "message",
// "ecs.version", "service.name" / "service.version" /
// "service.environment", "event.dataset" (default service + ".log"),
// "event.id" (a UUIDv7 unique to the record: the idempotency key — the
// Indexer's _id, the message ID on a topic), "trace.id" / "span.id" from
// the OpenTelemetry span in the context, "error.type" / "error.message"
// from the first error attribute (and "error.stack_trace", the logging
// goroutine's stack, at Error and above with HandlerOptions.ErrorStack),
// "log.origin.*" with AddSource. Attributes go at the top level, as
// Elastic's own loggers put them, so an attribute "user.id" fills the ECS
// field; groups become nested objects. An attribute named after a field
// the Handler writes itself ("message", "service", "log.level", ...)
// goes under "labels" instead, and a repeated key gets a suffix ("k_2"):
// Elasticsearch refuses a document with a duplicate key, and that would
// cost the record. A Handler's attributes (WithAttrs, WithGroup) are
// encoded once, when it is made. Shipper.Writer and Shipper.LineWriter
// turn plain lines (the log package, a subprocess's stderr) into records
// the same way, a line's level read from its first word.
//
// # Redaction
//
// HandlerOptions.Redact runs before anything is encoded, on the message,
// every string value (of groups, WithAttrs, error messages, Stringers and
// values marshalled as JSON) and long integers. DefaultRules holds the
// usual set: SecretKeyRule (attributes named like password, secret,
// token, api key, authorization, cookie), EmailRule, CardRule (13 to 19
// digits passing the Luhn check) and TokenRule (JWTs, Bearer
// credentials); IPRule is opt-in. A Rule of one's own selects attributes
// by name or text by content (a function or a regexp) and replaces,
// drops or pseudonymises it. Pseudonymisation (Pseudonymizer) replaces a
// value with a keyed HMAC, one key per subject (a user, a tenant) held by
// a KeyProvider: records of a subject stay correlatable, and deleting the
// subject's key erases it — the right to be forgotten on append-only logs
// and archives. A value that cannot match a built-in rule costs one scan.
// A rule, KeyProvider or LogValuer that panics costs its record (replaced
// by a note without its content), never the logging call.
//
// # Sampling
//
// HandlerOptions.Sample thins repetitive records the way zap's sampler
// does: of the records with one level and message, the first N in each
// interval are kept, then one in M. Records at Error and above are never
// sampled away; what sampling dropped is counted
// (logship.records.sampled).
//
// # Shipping
//
// A Shipper delivers records to its Sink in batches — count, bytes and
// interval, WithBatch — from one goroutine, one Write at a time. In front
// of it is a queue bounded by records and by bytes (WithQueue,
// WithQueueBytes), so memory never grows without bound; when it is full
// the policy applies: DropNewest (the default), DropOldest, or Block(d),
// which makes the logging call wait up to d and then drops. Every record
// given up is counted in logship.shipper.dropped by reason (queue_full,
// evicted, block_timeout, too_large, buffer_full, buffer_error, closed,
// retries_exhausted, permanent, dead_letter_failed, shutdown, quarantined)
// and reported to WithErrorHandler as ErrDropped (ErrClosed after
// Shutdown).
//
// Failures. A Write that fails as a whole is retried with backoff
// (WithRetry), unless the Sink marked its error Permanent. Of a Write that
// went through, only the records the Sink refused are written again,
// without the others: retryable ones (a 429, a 5xx item) after a backoff,
// permanent ones (a mapping error) never — they go to the dead-letter Sink
// (WithDeadLetter) with the reason in the DeadLetterField of their JSON,
// or, without one, are logged and counted. Attempts count a record's
// failures; a record still refused when they run out is dead-lettered
// too, so one bad document never holds up the ones behind it and no
// record is retried for ever. Without a disk buffer, a Sink that stays
// down costs the records of a batch once the retry policy runs out
// (counted, retries_exhausted).
//
// Crash safety. With WithBuffer(dir), submit returns only once the record
// is appended to a write-ahead log in dir; the goroutine reads batches
// from it and acknowledges them, in order, only after the Sink accepted
// them or they were dead-lettered or given up. A Sink that stays down is
// retried without end while the records wait on disk; the buffer is
// bounded by WithBufferMaxBytes (1 GiB), and when it is full the queue
// policy applies (DropOldest is refused: what is on disk was promised).
// After a crash or restart, a new Shipper on the same dir delivers what
// was left, oldest first. fsync (WithBufferSync): by default every 200ms,
// so a process crash (SIGKILL, OOM kill, panic) loses nothing submitted
// and a power loss at most the last 200ms; SyncAlways loses nothing even
// then, at an fsync per record. A record cut short by the crash at the end
// of the log was never acknowledged to its caller and is dropped on open.
// A part of the log damaged on disk, or a record that does not decode, is
// moved to dir/quarantine (ReadQuarantine lists it) and counted
// (quarantined): it never stalls the records behind it.
//
// Guarantees. With a disk buffer: at-least-once — every record whose
// submit returned is delivered, dead-lettered or counted as given up,
// across crashes; a crash between a Write and its acknowledgement
// delivers the batch again, and a duplicate carries the same event id
// (Record.ID), so a store keyed by it (the Indexer's _id) keeps one copy.
// Without one: at most once, give or take a retry — what is in memory at a
// crash is lost, and a Write that timed out but had reached the store is
// written again. Order is submit order, except that records written again
// come after the batch they were part of. Shutdown writes what is queued
// (retries included) until its context ends; then records in memory are
// dropped (counted, shutdown) and records on disk wait for the next run.
// Flush waits, without stopping the Shipper, until the records submitted
// before it are settled (acknowledged, with a disk buffer): before
// os.Exit, or in a test before looking at the store.
//
// # MQ sink
//
// MQSink publishes each batch in one mq Publish, one message per record:
// the message ID is the event id (mq's dedup and the Indexer's _id make a
// republished record harmless), the payload the ECS document, the routing
// fields in headers (RecordFromMessage reads them back). A Publish that
// failed as a whole for a reason a retry can fix (broker unreachable,
// circuit open, outage buffer full) is Write's error. A record over the
// broker's size limit is refused alone, for good (the batch is then sent
// one record at a time, so its other records are delivered). A closed
// client, a nil client or an empty topic fail the whole batch for good
// (Permanent), which sends it to the dead-letter Sink.
// Delivery is at-least-once: a record may reach the topic twice, with
// the same event id. The Sink does not close the caller's client.
//
// # File sink
//
// FileSink appends NDJSON lines, one record each, to a file, and rotates
// it by size and age to <name>.<UTC time>[-n][.gz], keeping Rotation.Keep
// old files. All file access goes through an os.Root on the file's
// directory: no link or ".." leads outside it, and a link planted where a
// rotated file goes is replaced, never written through. A batch is one
// write; a failed write (a full disk) is cut back so that no half line
// stays, and reported retryable. Close fsyncs; between Closes, lines are
// in the OS's page cache only (a machine crash may lose the last ones; a
// process crash does not). A record whose JSON holds a newline is
// refused for good. An external rotation (logrotate renaming the file, or
// deleting it) is noticed at the next batch, which goes to a new file at
// the path. Bad settings: NewFileSink returns them as an error
// (ErrInvalid); FileSink, which cannot, returns a Sink that refuses every
// record with that error, permanently, so the dead-letter Sink gets them.
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
// retryable error (the store down or overloaded, a malformed or oversized
// answer, no answer within WithIndexerRequestTimeout) is retried for as long as it lasts: consumption waits, nothing is
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
//
// # Archive
//
// The Archiver consumes a topic and writes, per service and hour of the
// records' @timestamp, gzipped NDJSON objects to a filestore.Store:
//
//	<prefix>/<service>/2026/11/30/10/<first>-<last>-<count>-<sha>.ndjson.gz
//	<prefix>/<service>/2026/11/30/10/manifest.json
//
// <first> and <last> are the offsets into the hour of the object's first
// and last records (ns), <sha> the first 128 bits of the SHA-256 of its
// uncompressed content, whose lines are {"id","service","time","level",
// "doc"} with the ECS document in doc, sorted by time then id. A service
// name is escaped to one safe path segment (letters, digits, '-' and a
// non-leading '.' kept, every other byte %XX; the empty name is "%"; one
// escaped to more than 200 bytes is cut and ends "~" and a hash of the
// name), one to one: no service reaches another's directory or outside
// the prefix.
// A service-hour is written when it holds WithArchiveFlush's count or
// bytes, or its first record is as old as its age, or every handler is
// waiting (the count is also the subscription's concurrency); Shutdown
// writes the rest.
//
// Messages are acknowledged only after their object is stored (Put with
// IfNotExist); then the manifest is rewritten from a listing of its
// directory. Delivery is at-least-once, and duplicates are bounded so:
// the same set of records always makes the same object name, so a
// redelivery of an unacknowledged batch rebuilt whole finds its object
// stored (fs.ErrExist, counted as "existing") and stores nothing new; a
// redelivery regrouped differently (a crash between the Put and the
// acks, with other records received since; two Archivers of one group
// taking over each other's messages) stores some records in two objects.
// Nothing else duplicates: a failed Put stores nothing. ReadArchive lists
// each hour (the listing, not the manifest, is the truth, so an object
// whose manifest update was lost to a crash is read all the same), skips
// objects outside the range by their names, and yields each event id
// once per hour, remembering the ids of the hour being read: memory grows
// with one service's records in one hour. A manifest may lag the listing
// (two Archivers rewriting it at once; a failed update is logged and
// counted, and the next flush of that hour repairs it): it is a summary
// for operators and tools. An object that cannot be read (cut, corrupt)
// yields an error naming it, and the reader goes on with the next object.
// A record that is not an ECS JSON object is dead-lettered by mq
// (mq.Permanent). A store down long enough for mq's attempts to run out
// dead-letters messages too: raise mq.WithMaxAttempts through
// WithArchiveSubscribeOptions where that matters. Metrics:
// logship.archive.objects{outcome=written|existing|failed|manifest_failed},
// logship.archive.bytes (compressed), logship.archive.records.
//
// # Alerts
//
// An Alerter (NewAlerter) watches each service's error rate — records at
// slog.LevelError and above over all records — over a sliding Window
// (default 1 minute, sliding by Window/Buckets, 10 s by default), and
// compares each window with that service's own baseline: an exponentially
// weighted mean and variance of its past windows (HalfLife, default 10
// minutes). A window alerts when z = (rate − mean) / σ reaches Threshold
// (default 3), where σ is the baseline's deviation floored twice — by the
// sampling noise of a rate over that many records, √(p(1−p)/n), and by
// MinStdDev (default one percentage point) — so that neither a perfectly
// flat baseline nor a small window makes a blip look infinitely
// anomalous. Alerts go to OnAlert and, as JSON, to an mq topic, with a
// message ID made of service and window, so that a republished alert is
// one message to a consumer with dedup.
//
// Feed it with Observe (cheap: lock-free counters, no allocation for a
// known service), a Shipper's Sink wrapped in AlertingSink, its own
// consumer group on the log topic (MessageHandler), or the Indexer
// calling ObserveRecord for each record it indexed. Records are counted
// in the step of their @timestamp, except that a record older than the
// current step (a backlog being caught up) counts in the current step,
// and one more than a step ahead in the next one: evaluated windows are
// final. With the real clock the Alerter evaluates at every step itself;
// with AlertOptions.Now set, the caller calls Evaluate. A bad option
// leaves the Alerter inert and is reported by Err (or AlertOptions.Validate
// beforehand): NewAlerter's signature has no error.
//
// What it catches: a sudden rise of a service's error rate against what is
// normal for that service — a bad deploy, a dependency going down. What it
// does not: a slow degradation. The baseline learns every normal window,
// so a rate creeping up by 0.05 points a window follows along and never
// alerts (a test holds it to that); catch those with a fixed MinErrorRate
// alert in your dashboards or an SLO burn rate. It also does not see
// services that stop logging, nor errors logged below LevelError.
//
// Against false positives: MinVolume (default 50 records a window) keeps
// quiet hours from alerting on 3 errors out of 4 records, and those
// windows teach the baseline nothing; note that the window's volume
// counts, so while traffic falls the last busy minute still lends volume
// and a burst of errors right then can alert. Warmup (default 5 windows
// of volume) precedes a new service's first alert; Cooldown (default 10
// minutes) spaces one service's alerts. Anomalous windows are kept out of
// the baseline, so a sustained incident goes on alerting once per
// Cooldown rather than becoming the new normal — until it has lasted
// Relearn (default 1 hour): then the current rate is taken as the new
// normal (logged, counted) and the baseline warms up again. Raise
// Threshold or MinStdDev to alert less, lengthen HalfLife to follow drifts
// more slowly (and so catch slower ramps), and set MinErrorRate to ignore
// rises that stay small in absolute terms. MaxServices (default 1000)
// bounds the services tracked: a service name taken from input cannot
// grow memory; while it is reached, services idle for a whole window are
// dropped (baseline and all) to make room, so that a flood of made-up
// names does not shut later services out for ever.
//
// Metrics: logship.alerter.alerts{outcome=fired|cooldown|relearned},
// logship.alerter.deliveries{outcome=published|publish_failed|callback_panic},
// logship.alerter.evaluations, logship.alerter.untracked and the gauge
// logship.alerter.services.
//
// # Errors
//
// Calls that can fail return errors matched with errors.Is: ErrInvalid for a
// bad argument or option (the message names it), ErrClosed after Shutdown
// or Close. Handle cannot fail its caller (slog has no one to return an
// error to): a record the Shipper gives up is counted in
// logship.shipper.dropped by reason and reported to WithErrorHandler as
// ErrDropped. A Sink's whole-request error is retried unless marked
// Permanent; Elasticsearch's refusals are *BulkError (a whole request) and
// *ItemError (one document); ErrErased is what a KeyProvider returns for an
// erased subject.
//
// # Metrics
//
// Every part exports OpenTelemetry metrics to the MeterProvider its
// options name (default: the global one), read from atomics at collection
// time: logship.shipper.* (records by outcome, dropped by reason, retries,
// batches, queue and buffer size, write duration), logship.records.sampled
// and logship.lines.split, logship.indexer.*, logship.archive.* and
// logship.alerter.*, each listed in its section above.
//
// # URLs and As
//
// logship opens nothing by URL and wraps no client of its own: the
// clients it uses — an mq.Client, an *elasticsearch.Client, a
// filestore.Store — are the caller's, configured and reached (As) through
// their own packages, and Sinks never close them.
package logship
