package rocketmq

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/apache/rocketmq-client-go/v2/rlog"
)

// recordingHandler keeps the messages logged through it.
type recordingHandler struct {
	mu   sync.Mutex
	msgs []string
}

func (h *recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, r.Message)
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

func (h *recordingHandler) saw(s string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range h.msgs {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// TestReviewLogsAfterClose: the client's logger is process-wide and goes
// to the Logger of the connection made last; once that connection is
// closed its Logger (a test's, a request's, one whose output is closed)
// must no longer get the client's errors: they go to the connection made
// last of those still open.
func TestReviewLogsAfterClose(t *testing.T) {
	ctx := context.Background()
	ha, hb := &recordingHandler{}, &recordingHandler{}
	a, err := New(ctx, []string{"127.0.0.1:1"}, &Options{Logger: slog.New(ha)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := New(ctx, []string{"127.0.0.1:1"}, &Options{Logger: slog.New(hb)})
	if err != nil {
		t.Fatal(err)
	}
	rlog.Error("while both are open", nil)
	if !hb.saw("while both are open") {
		t.Fatal("the client's error did not reach the Logger of the connection made last")
	}
	b.Close()
	b.Close()
	rlog.Error("after b closed", nil)
	if hb.saw("after b closed") {
		t.Error("the client's error went to the Logger of a closed connection")
	}
	if !ha.saw("after b closed") {
		t.Error("the client's error did not reach the Logger of the connection still open")
	}
}
