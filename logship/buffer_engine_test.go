package logship

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/internal/wal"
)

// engineRetryGate makes each retry wait until the test lets one through
// (or the Shipper gives up), so that a sink that stays down is retried at
// the test's pace.
func engineRetryGate(gate chan struct{}) Option {
	return func(o *options) error {
		o.retryWait = func(ctx context.Context, _ time.Duration) {
			select {
			case <-gate:
			case <-ctx.Done():
			}
		}
		return nil
	}
}

// engineLeaveBuffered submits records 0..n-1 through a Shipper on dir whose
// sink is down, lets it fail more writes than the retry policy allows,
// and gives up on Shutdown: the records must stay in the buffer.
func engineLeaveBuffered(t *testing.T, dir string, n int, opts ...Option) {
	t.Helper()
	sink := newEngineSink()
	sink.outcome = func(int, []Record) (Result, error) { return Result{}, errEngineDown }
	gate := make(chan struct{})
	s := engineShipper(t, sink, nil, append([]Option{WithBuffer(dir), WithBatch(n, 1<<20, time.Hour), engineRetryGate(gate)}, opts...)...)
	for i := range n {
		s.submit(context.Background(), engineRecord(i))
	}
	sink.nextWrite(t)
	for range 5 { // more failures than MaxAttempts (3): still not dropped
		gate <- struct{}{}
		sink.nextWrite(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stay in the disk buffer") {
		t.Fatalf("Shutdown: %v", err)
	}
	for r := range numReasons {
		if n := engineDropped(s, r); n != 0 {
			t.Fatalf("%d dropped (%s) with a buffer", n, r)
		}
	}
}

func TestShipperBufferReplaysAfterRestart(t *testing.T) {
	engineNoLeaks(t)
	dir := t.TempDir()
	engineLeaveBuffered(t, dir, 5)

	sink := newEngineSink()
	s := engineShipper(t, sink, nil, WithBuffer(dir))
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sink.gotIDs(); !slices.Equal(got, []string{"e000", "e001", "e002", "e003", "e004"}) {
		t.Fatalf("replayed %v", got)
	}
	for i, r := range sink.got {
		want := engineRecord(i)
		if string(r.JSON) != string(want.JSON) || r.Service != want.Service || !r.Time.Equal(want.Time) || r.Level != want.Level {
			t.Errorf("record %d: got %+v, want %+v", i, r, want)
		}
	}
	// Acknowledged: a third run has nothing to send.
	sink3 := newEngineSink()
	s3 := engineShipper(t, sink3, nil, WithBuffer(dir))
	if err := s3.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(sink3.calls) != 0 {
		t.Fatalf("acknowledged records sent again: %v", sink3.calls)
	}
}

// A damaged part of the buffer is quarantined and counted; the records
// before it are delivered and the buffer goes on. (Damage in the newest
// segment is a torn tail to the WAL, cut on open: a crash's signature.
// This damage lies in an older segment, as a bad disk block would.)
func TestShipperBufferDamageIsQuarantined(t *testing.T) {
	engineNoLeaks(t)
	dir := t.TempDir()
	const n = 20
	small := WithBufferMaxBytes(4096) // segments of 512 bytes
	engineLeaveBuffered(t, dir, n, small)
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) < 2 {
		t.Fatalf("segments %v", segs)
	}
	b, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), `"m2"`) // inside record 2's JSON
	b[i+1] ^= 0xff
	if err := os.WriteFile(segs[0], b, 0o600); err != nil {
		t.Fatal(err)
	}

	sink := newEngineSink()
	s := engineShipper(t, sink, nil, WithBuffer(dir), WithBatch(n, 1<<20, time.Hour), small)
	if got := sink.nextWrite(t); !slices.Equal(got, []string{"e000", "e001"}) {
		t.Fatalf("before the damage: %v", got)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := sink.gotIDs()
	lost := int(engineDropped(s, reasonQuarantined))
	if lost < 1 || len(got)+lost != n || got[2] != engineRecord(2+lost).ID || got[len(got)-1] != engineRecord(n-1).ID {
		t.Fatalf("delivered %v, quarantined %d", got, lost)
	}
	q, err := ReadQuarantine(dir)
	if err != nil || len(q) != 1 || !strings.Contains(q[0].Reason, "damaged") || !strings.Contains(string(q[0].Raw), `"m3"`) {
		t.Fatalf("quarantine %+v, %v", q, err)
	}
}

// A record that does not decode (a poison record) is quarantined alone;
// the records around it are delivered.
func TestShipperBufferPoisonRecordIsQuarantined(t *testing.T) {
	engineNoLeaks(t)
	dir := t.TempDir()
	w, err := wal.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range [][]byte{appendBuffered(nil, engineRecord(0)), []byte("\x07garbage"), appendBuffered(nil, engineRecord(2))} {
		if _, err := w.Append(data); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()

	sink := newEngineSink()
	s := engineShipper(t, sink, nil, WithBuffer(dir))
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := sink.gotIDs(); !slices.Equal(got, []string{"e000", "e002"}) {
		t.Fatalf("delivered %v", got)
	}
	q, err := ReadQuarantine(dir)
	if err != nil || len(q) != 1 || string(q[0].Raw) != "\x07garbage" || !strings.Contains(q[0].Reason, "version") {
		t.Fatalf("quarantine %+v, %v", q, err)
	}
	if engineDropped(s, reasonQuarantined) != 1 {
		t.Fatalf("quarantined %d", engineDropped(s, reasonQuarantined))
	}
}

// The buffer's cap holds: past it records are dropped (DropNewest) or
// wait and then are dropped (Block), counted.
func TestShipperBufferFull(t *testing.T) {
	engineNoLeaks(t)
	for _, policy := range []QueuePolicy{DropNewest, Block(time.Millisecond)} {
		sink := newEngineSink()
		sink.outcome = func(int, []Record) (Result, error) { return Result{}, errEngineDown }
		s := engineShipper(t, sink, nil, WithBuffer(t.TempDir()), WithBufferMaxBytes(2048), WithQueue(10, policy), engineRetryGate(make(chan struct{})))
		for i := range 100 {
			s.submit(context.Background(), engineRecord(i))
		}
		reason := reasonBufferFull
		if policy.kind == block {
			reason = reasonBlockTimeout
		}
		if d := engineDropped(s, reason); d == 0 || d+s.tel.accepted.Load() != 100 || s.buf.w.Size() > 2048 {
			t.Fatalf("%v: dropped %d, accepted %d, size %d", policy, d, s.tel.accepted.Load(), s.buf.w.Size())
		}
	}
}

// Block waits for the sink to take records from a full buffer.
func TestShipperBufferBlockWaitsForAck(t *testing.T) {
	engineNoLeaks(t)
	sink := newEngineSink()
	hold := make(chan struct{})
	sink.hold = hold
	s := engineShipper(t, sink, nil, WithBuffer(t.TempDir()), WithBufferMaxBytes(2048), WithBatch(1, 1<<20, time.Hour), WithQueue(10, Block(time.Hour)))
	n := 0
	for s.buf.w.Size()+200 < 2048 {
		s.submit(context.Background(), engineRecord(n))
		n++
	}
	done := make(chan struct{})
	go func() {
		for i := range 3 {
			s.submit(context.Background(), engineRecord(n+i)) // one of these must wait
		}
		close(done)
	}()
	close(hold)
	<-done
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(sink.gotIDs()); got != n+3 {
		t.Fatalf("delivered %d, want %d", got, n+3)
	}
}

// A buffered record reads back as it was, a zero time and an empty ID
// included; a record cut short anywhere is an error, not a panic.
func TestBufferedRecordRoundTrip(t *testing.T) {
	for _, r := range []Record{engineRecord(3), {}, {ID: "x", Level: -8, JSON: []byte("{}")}} {
		data := appendBuffered(nil, r)
		got, err := decodeBuffered(data)
		if err != nil || got.ID != r.ID || got.Service != r.Service || !got.Time.Equal(r.Time) || got.Time.IsZero() != r.Time.IsZero() || got.Level != r.Level || string(got.JSON) != string(r.JSON) {
			t.Fatalf("%+v: got %+v, %v", r, got, err)
		}
		for i := range len(data) - len(r.JSON) {
			if _, err := decodeBuffered(data[:i]); err == nil {
				t.Fatalf("%+v cut at %d: no error", r, i)
			}
		}
	}
}
