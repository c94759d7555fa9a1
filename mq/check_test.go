package mq_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/memmq"
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
