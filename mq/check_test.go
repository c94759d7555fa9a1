package mq_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/memmq"
	"github.com/groundwork-go/groundwork/resilience"
)

// TestCheckAsPublish: Check refuses what Publish refuses, naming the
// message, and changes nothing; NewIDs fills only empty IDs.
func TestCheckAsPublish(t *testing.T) {
	c, err := mq.NewClient(memmq.New(memmq.NewBroker(&memmq.Options{MaxMessageBytes: 100})))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ok := &mq.Message{Topic: "t"}
	for _, tc := range []struct {
		m    *mq.Message
		is   error
		says string
	}{
		{nil, mq.ErrInvalid, "message 1 is nil"},
		{&mq.Message{}, mq.ErrInvalid, "message 1 has an empty Topic"},
		{&mq.Message{Topic: "t", Payload: make([]byte, 101)}, mq.ErrTooLarge, "message 1"},
	} {
		err := c.Check(ok, tc.m)
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Check: %v, want %v saying %q", err, tc.is, tc.says)
		}
		if perr := c.Publish(t.Context(), ok, tc.m); !errors.Is(perr, tc.is) {
			t.Errorf("Publish: %v, want %v", perr, tc.is)
		}
	}
	ok = &mq.Message{Topic: "t"}
	if err := c.Check(ok); err != nil || ok.ID != "" || !ok.Time.IsZero() {
		t.Fatalf("Check of a good message: %v, changed it: %+v", err, ok)
	}
	mine := &mq.Message{ID: "mine"}
	if err := mq.NewIDs(ok, nil, mine); err != nil || len(ok.ID) != 36 || mine.ID != "mine" {
		t.Fatalf("NewIDs: %v, %q, %q", err, ok.ID, mine.ID)
	}
}

// TestIsRetryable: an unreachable broker and an open circuit are worth
// another attempt; a refused message and a closed Client are not.
func TestIsRetryable(t *testing.T) {
	b := memmq.NewBroker(&memmq.Options{MaxMessageBytes: 100})
	c, err := mq.NewClient(memmq.New(b), mq.WithRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxAttempts: 1}),
		mq.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	b.SetReachable(false)
	unreachable := c.Publish(t.Context(), &mq.Message{Topic: "t"})
	open := c.Publish(t.Context(), &mq.Message{Topic: "t"})
	tooLarge := c.Publish(t.Context(), &mq.Message{Topic: "t", Payload: make([]byte, 101)})
	c.Close()
	closed := c.Publish(t.Context(), &mq.Message{Topic: "t"})
	for _, tc := range []struct {
		err  error
		want bool
	}{{unreachable, true}, {open, true}, {tooLarge, false}, {closed, false}, {nil, false}} {
		if got := c.IsRetryable(tc.err); got != tc.want {
			t.Errorf("IsRetryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if !errors.Is(open, mq.ErrCircuitOpen) {
		t.Errorf("second publish: %v, want the circuit open", open)
	}
}
