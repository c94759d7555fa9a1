package logship

import (
	"context"
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
