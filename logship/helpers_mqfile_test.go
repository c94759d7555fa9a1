package logship

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/mq"
)

// mqfileLeakCheck, called first in a test, checks when the test's cleanups
// are done that no goroutine outlived them. (Per test rather than in a
// TestMain: the package's TestMain belongs to another part.)
func mqfileLeakCheck(t *testing.T) {
	t.Cleanup(func() {
		goleak.VerifyNone(t, goleak.IgnoreCurrent(),
			goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
			goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
	})
}

// mqfileRecords are n distinct records of service, a millisecond apart from
// start.
func mqfileRecords(service string, start time.Time, n int) []Record {
	out := make([]Record, n)
	for i := range out {
		id := fmt.Sprintf("%s-%05d", service, i)
		t := start.Add(time.Duration(i) * time.Millisecond)
		out[i] = Record{ID: id, Service: service, Time: t, Level: slog.LevelInfo + slog.Level(i%9-4),
			JSON: fmt.Appendf(nil, `{"@timestamp":%q,"event":{"id":%q},"service":{"name":%q},"message":"line %d"}`, t.Format(time.RFC3339Nano), id, service, i)}
	}
	return out
}

// mqfileSameRecord reports how got differs from want, "" if it does not.
func mqfileSameRecord(got, want Record) string {
	if got.ID != want.ID || got.Service != want.Service || !got.Time.Equal(want.Time) || got.Level != want.Level || string(got.JSON) != string(want.JSON) {
		return fmt.Sprintf("got %+v (%s), want %+v (%s)", got, got.JSON, want, want.JSON)
	}
	return ""
}

// mqfileCollect subscribes to topic and returns a function that waits
// until n distinct records arrived, and returns them by ID.
func mqfileCollect(t *testing.T, c *mq.Client, topic string, n int) func() map[string]Record {
	t.Helper()
	type got struct {
		r   Record
		err error
	}
	ch := make(chan got, 4*n)
	sub, err := c.Subscribe(context.Background(), topic, "readers", func(_ context.Context, m *mq.Message) error {
		r, err := RecordFromMessage(m)
		ch <- got{r, err}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return func() map[string]Record {
		t.Helper()
		out := map[string]Record{}
		deadline := time.After(60 * time.Second)
		for len(out) < n {
			select {
			case g := <-ch:
				if g.err != nil {
					t.Fatalf("RecordFromMessage: %v", g.err)
				}
				out[g.r.ID] = g.r
			case <-deadline:
				t.Fatalf("%d of %d records arrived", len(out), n)
			}
		}
		return out
	}
}
