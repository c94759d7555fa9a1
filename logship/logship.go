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
// client, a nil client or an empty topic refuse every record for good:
// since an error from Write means "retry", a failure of the whole batch
// that no retry can fix is reported as one permanent Failure per record.
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
// refused for good. Bad settings: NewFileSink returns them as an error
// (ErrInvalid); FileSink, which cannot, returns a Sink that refuses every
// record with that error, permanently, so the dead-letter Sink gets them.
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
// non-leading '.' kept, every other byte %XX; the empty name is "%"), one
// to one: no service reaches another's directory or outside the prefix.
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
