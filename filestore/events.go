package filestore

import "context"

// EventKind says what happened to a file.
type EventKind string

// Event kinds.
const (
	EventUploaded EventKind = "uploaded"
	EventDeleted  EventKind = "deleted"
)

// Event is told to Observers after the fact.
type Event struct {
	Kind EventKind
	File FileRecord
}

// Observer is told of events, synchronously, after the operation
// succeeded; a panic is recovered and logged. Publishing to an mq topic
// is one observer: func(ctx, e) { client.Publish(ctx, ...) }.
type Observer func(ctx context.Context, e Event)

func (svc *Service) emit(ctx context.Context, kind EventKind, rec *FileRecord) {
	for _, o := range svc.o.Observers {
		func() {
			defer func() {
				if p := recover(); p != nil {
					svc.o.Logger.Error("filestore: observer panicked", "event", kind, "id", rec.ID, "panic", p)
				}
			}()
			o(ctx, Event{Kind: kind, File: *rec})
		}()
	}
}
