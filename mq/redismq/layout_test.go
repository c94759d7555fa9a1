package redismq_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/mq"
)

// TestEntryTime: an entry stores the time only when its UUIDv7 ID does not
// carry it to the millisecond, and Message.Time reads back from the time
// field (entries written before it became optional have it always), the
// ID, or for entries added by other tools the entry ID.
func TestEntryTime(t *testing.T) {
	r := testserver.StartRedis(t, nil)
	rdb := rawClient(t, r.Addr)
	ctx := context.Background()
	c := open(t, r.URL+"?partitions=1&block=100ms")
	got := make(chan *mq.Message, 10)
	sub, err := c.Subscribe(ctx, "times", "g", func(_ context.Context, m *mq.Message) error {
		got <- m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	receive := func() *mq.Message {
		t.Helper()
		select {
		case m := <-got:
			return m
		case <-time.After(10 * time.Second):
			t.Fatal("no message within 10s")
			return nil
		}
	}
	lastEntry := func() redis.XMessage {
		t.Helper()
		xs, err := rdb.XRevRangeN(ctx, "mq:{times/0}", "+", "-", 1).Result()
		if err != nil || len(xs) != 1 {
			t.Fatalf("last entry: %v %v", xs, err)
		}
		return xs[0]
	}

	// A fresh publish: the time is the ID's.
	fresh := &mq.Message{Topic: "times", Key: "k", Payload: []byte("fresh")}
	if err := c.Publish(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if x := lastEntry(); x.Values["time"] != nil {
		t.Errorf("fresh entry stores the time twice: %v", x.Values)
	}
	if m := receive(); !m.Time.Equal(fresh.Time.Truncate(time.Millisecond)) {
		t.Errorf("fresh message: Time %v, published %v (want it to the millisecond)", m.Time, fresh.Time)
	}

	// A back-dated message (as an outage buffer replays, or a caller
	// sets): the time field keeps it exactly.
	old := &mq.Message{Topic: "times", Key: "k", Payload: []byte("old"), Time: time.Unix(1_600_000_000, 123_456_789)}
	if err := c.Publish(ctx, old); err != nil {
		t.Fatal(err)
	}
	if x := lastEntry(); x.Values["time"] != "1600000000123456789" {
		t.Errorf("back-dated entry: time field %v, want 1600000000123456789", x.Values["time"])
	}
	if m := receive(); !m.Time.Equal(old.Time) {
		t.Errorf("back-dated message: Time %v, published %v", m.Time, old.Time)
	}

	// An entry of the earlier layout: the time field wins over the ID.
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: "mq:{times/0}", Values: []string{
		"id", "0190a1b2-c3d4-7e5f-8a9b-000000000001", "key", "k", "time", "1700000000000000001", "payload", "earlier"}})
	if m := receive(); !m.Time.Equal(time.Unix(0, 1700000000000000001)) {
		t.Errorf("earlier layout: Time %v, want the time field's", m.Time)
	}

	// An entry another tool added: the entry ID's time.
	id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: "mq:{times/0}", ID: "1800000000000-0", Values: []string{"payload", "foreign"}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	if m := receive(); !m.Time.Equal(time.UnixMilli(1_800_000_000_000)) || m.ID != "mq:{times/0}/"+id {
		t.Errorf("foreign entry: Time %v, ID %q", m.Time, m.ID)
	}
}
