package logship

import (
	"log/slog"
	"time"
)

// Record is one log record as it travels to a Sink: already encoded as
// one ECS JSON document, with the fields a Sink routes or keys by beside
// it so that no Sink parses the JSON again.
type Record struct {
	// ID is the record's event.id: unique, and the same on every delivery
	// of the record, so that a store that keys by it (Elasticsearch's
	// _id, an mq consumer's dedup) makes a redelivery harmless.
	ID string
	// Service is service.name: the Sink's key or index suffix.
	Service string
	// Time is @timestamp.
	Time time.Time
	// Level is log.level.
	Level slog.Level
	// JSON is the ECS document, without a trailing newline.
	JSON []byte
}
