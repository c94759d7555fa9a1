package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/mq"
)

// Event is one domain event of an aggregate. Version counts the
// aggregate's events from 1.
type Event struct {
	Aggregate string          `json:"aggregate"`
	Version   int             `json:"version"`
	Type      string          `json:"type"`
	Data      json.RawMessage `json:"data"`
	At        time.Time       `json:"at"`
}

// ErrConflict: the aggregate moved on since the writer read it.
var ErrConflict = errors.New("eventstore: version conflict")

// Store keeps each aggregate's events in a Redis list (the source of
// truth, for replay) and publishes every appended event to an mq topic
// keyed by the aggregate ID (for projections, which mq delivers in
// per-aggregate order).
type Store struct {
	rdb   redis.UniversalClient
	mqc   *mq.Client
	topic string
}

// appendScript appends ARGV[2..] to list KEYS[1] if it holds exactly
// ARGV[1] events: the optimistic concurrency check, atomic in Redis.
var appendScript = redis.NewScript(`
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) then
  return redis.error_reply('CONFLICT ' .. redis.call('LLEN', KEYS[1]))
end
for i = 2, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
return redis.call('LLEN', KEYS[1])`)

func eventsKey(aggregate string) string { return "es:{" + aggregate + "}:events" }

// Append adds events to aggregate, which must be at version expected
// (0 for a new one), and returns the new version. Two writers that read
// the same version cannot both append: the second gets ErrConflict.
func (s *Store) Append(ctx context.Context, aggregate string, expected int, types []string, data []any) (int, error) {
	args := []any{expected}
	var events []Event
	for i, t := range types {
		raw, err := json.Marshal(data[i])
		if err != nil {
			return 0, err
		}
		e := Event{Aggregate: aggregate, Version: expected + i + 1, Type: t, Data: raw, At: time.Now().UTC()}
		b, _ := json.Marshal(e)
		args = append(args, b)
		events = append(events, e)
	}
	v, err := appendScript.Run(ctx, s.rdb, []string{eventsKey(aggregate)}, args...).Int()
	if err != nil {
		if redis.HasErrorPrefix(err, "CONFLICT") {
			return 0, fmt.Errorf("%w: %s is not at version %d (%s)", ErrConflict, aggregate, expected, err)
		}
		return 0, err
	}
	// Published after the append: an event is in the log first. With
	// the outage buffer on the mq.Client, a broker outage does not lose
	// it; a crash between the two would, which a production store closes
	// with an outbox (a relay publishing from the log).
	msgs := make([]*mq.Message, len(events))
	for i, e := range events {
		b, _ := json.Marshal(e)
		msgs[i] = &mq.Message{Topic: s.topic, Key: aggregate, ID: aggregate + "@" + strconv.Itoa(e.Version), Payload: b}
	}
	return v, s.mqc.Publish(ctx, msgs...)
}

// Load returns aggregate's events from version from (1 = all).
func (s *Store) Load(ctx context.Context, aggregate string, from int) ([]Event, error) {
	raws, err := s.rdb.LRange(ctx, eventsKey(aggregate), int64(max(from, 1)-1), -1).Result()
	if err != nil {
		return nil, err
	}
	events := make([]Event, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal([]byte(raw), &events[i]); err != nil {
			return nil, fmt.Errorf("eventstore: %s event %d: %w", aggregate, from+i, err)
		}
	}
	return events, nil
}
