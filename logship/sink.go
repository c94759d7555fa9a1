package logship

import "context"

// A Sink delivers batches of records to a store or a queue. The Shipper
// calls Write from one goroutine at a time, retries what a Sink reports
// as retryable, and sends what it reports as permanent to the dead-letter
// Sink (WithDeadLetter) with the reason: one bad document never costs the
// batch around it. Sinks do not retry themselves.
type Sink interface {
	// Write delivers batch. A nil error with no Failures means every
	// record was accepted. An error means none was (the whole request
	// failed: a connection refused, a 503); it is retried unless marked
	// Permanent (a request trying again cannot help). Failures name the
	// records that were refused one by one (an item of a bulk response),
	// by index into batch.
	//
	// Write must return soon after ctx ends: Shutdown waits for the
	// Write in progress. batch is the Sink's to read until Write
	// returns, never to change (a refused record is written again as it
	// was); the Shipper reuses the slice for its next Write, so a Sink
	// that hands records on keeps a copy of it. It never reuses a
	// record's JSON, which a Sink may keep.
	Write(ctx context.Context, batch []Record) (Result, error)
	// Close releases what the Sink holds; the Shipper calls it once, at
	// Shutdown, after its last Write.
	Close(ctx context.Context) error
}

// Result is what became of the records of one Write that did not fail as
// a whole.
type Result struct {
	// Failures are the records refused one by one, in batch order.
	Failures []Failure
}

// Failure is one record a Sink refused.
type Failure struct {
	// Index is the record's index in the batch given to Write.
	Index int
	// Err says why, as the store put it (a mapping error, a 429).
	Err error
	// Retryable is true when trying the record again can help (a 429, a
	// 5xx item); false sends it to the dead-letter Sink.
	Retryable bool
}
