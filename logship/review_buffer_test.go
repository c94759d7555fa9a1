package logship

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A record larger than the whole disk buffer (WithBufferMaxBytes) can
// never fit, however many records the sink takes: it is dropped at once
// as too_large, as the memory queue does with WithQueueBytes — not
// counted as buffer_full, and Block does not make its caller wait the
// deadline out for room that cannot come. It was buffer_full, and with
// Block the caller waited the whole deadline (here its context's end,
// then block_timeout).
func TestReviewBufferRecordLargerThanCap(t *testing.T) {
	engineNoLeaks(t)
	for _, policy := range []QueuePolicy{DropNewest, Block(time.Hour)} {
		t.Run(policy.String(), func(t *testing.T) {
			sink := newEngineSink()
			s := engineShipper(t, sink, nil, WithBuffer(t.TempDir()), WithBufferMaxBytes(4096), WithQueue(10, policy))
			big := engineRecord(0)
			big.JSON = []byte(`{"message":"` + strings.Repeat("x", 8192) + `"}`)
			// A context already ended: were submit to wait for room, it
			// would give up at once, as block_timeout.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			s.submit(ctx, big)
			s.submit(context.Background(), engineRecord(1)) // a small one still fits
			if err := s.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tl, full, bt := engineDropped(s, reasonTooLarge), engineDropped(s, reasonBufferFull), engineDropped(s, reasonBlockTimeout); tl != 1 || full != 0 || bt != 0 {
				t.Fatalf("too_large %d buffer_full %d block_timeout %d; want 1 0 0", tl, full, bt)
			}
			if got := sink.gotIDs(); len(got) != 1 || got[0] != "e001" {
				t.Fatalf("delivered %v", got)
			}
		})
	}
}

// A segment of the disk buffer whose header is damaged (a bit flip, a
// file cut to nothing by a power loss) is quarantined and its records
// counted as given up, like damage inside a segment: the records in the
// other segments are delivered, and new records are taken. NewShipper
// failed on it, for good, so that the service could not log at all until
// someone deleted files by hand.
func TestReviewBufferSegmentHeaderDamaged(t *testing.T) {
	for _, damage := range []string{"header", "emptied"} {
		t.Run(damage, func(t *testing.T) {
			engineNoLeaks(t)
			dir := t.TempDir()
			// Small segments: the 20 records spread over several.
			opts := []Option{WithBufferMaxBytes(4096)}
			engineLeaveBuffered(t, dir, 20, opts...)
			segs, err := filepath.Glob(filepath.Join(dir, "*.seg"))
			if err != nil || len(segs) < 3 {
				t.Fatalf("segments %v %v", segs, err)
			}
			damaged := []string{segs[0], segs[len(segs)-1]} // the oldest, and the one appended to last
			if damage == "emptied" {
				// Not the newest: one cut short to nothing there is taken
				// for a creation a crash interrupted, before any record.
				damaged = []string{segs[0], segs[1]}
			}
			for _, seg := range damaged {
				if damage == "emptied" {
					err = os.Truncate(seg, 0)
				} else {
					err = reviewOverwrite(seg, []byte("garbage!"))
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			sink := newEngineSink()
			s := engineShipper(t, sink, nil, append(opts, WithBuffer(dir), engineNoSleep)...)
			s.submit(context.Background(), engineRecord(99))
			if err := s.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := sink.gotIDs()
			lost := engineDropped(s, reasonQuarantined)
			if len(got)+int(lost) != 21 || len(got) < 2 || got[len(got)-1] != "e099" {
				t.Fatalf("delivered %v, quarantined %d: want the 21 records accounted for, e099 last", got, lost)
			}
			q, err := ReadQuarantine(dir)
			if err != nil || len(q) != 2 {
				t.Fatalf("quarantine: %d entries, %v", len(q), err)
			}
		})
	}
}

func reviewOverwrite(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(b, 0)
	return errors.Join(err, f.Close())
}
