package logship

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/groundwork-go/groundwork/mq"
)

// The headers MQSink puts on each message, so that consumers (the Indexer,
// the Archiver) route a record without parsing its JSON. A message without
// them (published by another producer) is routed by its JSON fields.
const (
	HeaderService = "logship-service" // service.name
	HeaderLevel   = "logship-level"   // log.level, as slog names it ("ERROR", "WARN+2")
	HeaderTime    = "logship-time"    // @timestamp, RFC 3339 with nanoseconds
)

// messageFor is the mq message carrying r to topic. The message ID is the
// event id, so mq's dedup and a consumer's _id see one record as one
// message however often it is published. There is no key: a key orders
// messages one at a time per key, which would let a consumer batch only
// one record per service.
func messageFor(topic string, r Record) *mq.Message {
	return &mq.Message{
		ID:      r.ID,
		Topic:   topic,
		Payload: r.JSON,
		Headers: map[string]string{
			HeaderService: r.Service,
			HeaderLevel:   r.Level.String(),
			HeaderTime:    r.Time.UTC().Format(time.RFC3339Nano),
		},
	}
}

// RecordFromMessage is the Record an mq message carries, as MQSink
// published it, or as another producer did: a message without logship's
// headers has its fields read from its ECS JSON (event.id, service.name,
// log.level, @timestamp), and an ID missing from both is the message ID.
// A payload that is not a JSON object is an error naming what is wrong.
func RecordFromMessage(m *mq.Message) (Record, error) {
	r := Record{ID: m.ID, JSON: m.Payload}
	svc, okSvc := m.Headers[HeaderService]
	lvl, okLvl := m.Headers[HeaderLevel]
	ts, okTime := m.Headers[HeaderTime]
	if !okSvc || !okLvl || !okTime {
		var doc ecsHead
		if err := json.Unmarshal(m.Payload, &doc); err != nil {
			return Record{}, fmt.Errorf("logship: message %q: payload is not an ECS JSON object: %w", m.ID, err)
		}
		if id := cmp.Or(doc.EventID, doc.Event.ID); id != "" {
			r.ID = id
		}
		if !okSvc {
			svc = cmp.Or(doc.ServiceName, doc.Service.Name)
		}
		if !okLvl {
			lvl = cmp.Or(doc.LogLevel, doc.Log.Level)
		}
		if !okTime {
			ts = doc.Timestamp
		}
	}
	r.Service = svc
	if lvl != "" {
		if err := r.Level.UnmarshalText([]byte(strings.ToUpper(lvl))); err != nil {
			return Record{}, fmt.Errorf("logship: message %q: log level %q: %w", m.ID, lvl, err)
		}
	}
	if ts != "" {
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return Record{}, fmt.Errorf("logship: message %q: @timestamp %q: %w", m.ID, ts, err)
		}
		r.Time = t
	}
	if r.ID == "" {
		return Record{}, fmt.Errorf("logship: message without an ID or event.id")
	}
	return r, nil
}

// ecsHead is the part of an ECS document RecordFromMessage reads, in
// either of the forms ECS allows: dotted keys ("log.level", as logship's
// Handler and Elastic's ecs-logging libraries write them) or nested
// objects.
type ecsHead struct {
	Timestamp   string `json:"@timestamp"`
	LogLevel    string `json:"log.level"`
	ServiceName string `json:"service.name"`
	EventID     string `json:"event.id"`
	Log         struct {
		Level string `json:"level"`
	} `json:"log"`
	Service struct {
		Name string `json:"name"`
	} `json:"service"`
	Event struct {
		ID string `json:"id"`
	} `json:"event"`
}
