package mqtest

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/resilience"
)

// packagePrefix matches a package's prefix in an error text ("mq: ",
// "redismq: ", ...): mq's errors name one package, once, at the start.
// The provider's name in mq's "via <provider>: " is not one, even where
// the name ends in "mq" (rocketmq).
var packagePrefix = regexp.MustCompile(`\b[a-z]*mq: `)

// packagePrefixes returns the matches of packagePrefix in text that do not
// follow "via ".
func packagePrefixes(text string) [][]int {
	var out [][]int
	for _, m := range packagePrefix.FindAllStringIndex(text, -1) {
		if !strings.HasSuffix(text[:m[0]], "via ") {
			out = append(out, m)
		}
	}
	return out
}

// expectErr fails t unless err matches one of want (errors.Is) and its text
// names package mq once, at its start.
func expectErr(t *testing.T, what string, err error, want ...error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %v", what, want)
		return
	}
	matched := false
	for _, w := range want {
		matched = matched || errors.Is(err, w)
	}
	if !matched {
		t.Errorf("%s: %v, want %v", what, err, want)
	}
	if got := packagePrefixes(err.Error()); len(got) != 1 || got[0][0] != 0 {
		t.Errorf("%s: %q names a package %d times, want once, at the start", what, err, len(got))
	}
	t.Logf("%s: %v", what, err)
}

// nilOr fails t unless err is nil or matches one of want.
func nilOr(t *testing.T, what string, err error, want ...error) {
	t.Helper()
	if err != nil {
		expectErr(t, what, err, want...)
	}
}

// failFast is a client configuration that gives up on an unreachable
// broker after two attempts and then keeps its breaker open.
func failFast() []mq.Option {
	return []mq.Option{
		mq.WithRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond, MaxAttempts: 2}),
		mq.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 2, OpenTimeout: time.Hour}),
	}
}

// testOutageEveryCall: during an outage every call of the API either does
// what the package doc promises without the broker (buffering, the
// quarantine) or fails with an error that errors.Is reports as
// ErrUnreachable or, once the breaker opened, ErrCircuitOpen, with package
// mq named once in its text. When the broker is back, what was buffered
// arrives.
func testOutageEveryCall(t *testing.T, h Harness) {
	if h.Outage == nil {
		t.Skip("harness cannot stage an outage")
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.wait())
	defer cancel()
	topic := uniqueTopic(t)
	nop := func(context.Context, *mq.Message) error { return nil }
	var in inbox
	sub, err := h.client(t).Subscribe(ctx, topic, "g", in.handler, h.subOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	tripped, fresh := h.client(t, failFast()...), h.client(t, failFast()...)
	buffered := h.bufferedClient(t)
	leaving := h.client(t)
	leavingSub, err := leaving.Subscribe(ctx, topic, "leaving", nop, h.subOpts()...)
	if err != nil {
		t.Fatal(err)
	}

	restore := h.outage(t)
	if h.URL != "" {
		c, err := mq.Open(ctx, h.URL)
		if err == nil {
			c.Close()
		}
		expectErr(t, "Open", err, mq.ErrUnreachable)
	}
	expectErr(t, "Publish", tripped.Publish(ctx, &mq.Message{Topic: topic}), mq.ErrUnreachable)
	expectErr(t, "Publish with the breaker open", tripped.Publish(ctx, &mq.Message{Topic: topic}), mq.ErrCircuitOpen)
	_, err = tripped.Subscribe(ctx, topic, "g2", nop, h.subOpts()...)
	expectErr(t, "Subscribe with the breaker open", err, mq.ErrCircuitOpen)
	_, err = fresh.Subscribe(ctx, topic, "g3", nop, h.subOpts()...)
	expectErr(t, "Subscribe", err, mq.ErrUnreachable)
	expectErr(t, "Ping", tripped.Ping(ctx), mq.ErrUnreachable, mq.ErrUnsupported)

	sent := &mq.Message{Topic: topic, Key: "k", Payload: []byte("buffered during the outage")}
	if err := buffered.Publish(ctx, sent); err != nil || buffered.Buffered() == 0 {
		t.Errorf("Publish with an outage buffer: %v, %d buffered; want it buffered", err, buffered.Buffered())
	}
	if _, err := buffered.Quarantined(ctx); err != nil {
		t.Errorf("Quarantined reads a local file, yet: %v", err)
	}
	if _, err := buffered.RedriveQuarantined(ctx); err != nil {
		t.Errorf("RedriveQuarantined during an outage publishes through the buffer, yet: %v", err)
	}
	nilOr(t, "Subscription.Close", leavingSub.Close(), mq.ErrUnreachable)
	nilOr(t, "Client.Close", leaving.Close(), mq.ErrUnreachable)
	restore()

	h.waitFor(t, "the buffered message after the outage", func() bool { m, _ := in.byID(sent.ID); return m != nil })
}

// testOpenReachability: with the broker down, Open fails with
// ErrUnreachable naming the broker's address; with WithLazyConnect it
// opens, and with an outage buffer Publish buffers, and the message
// arrives once the broker is back.
func testOpenReachability(t *testing.T, h Harness) {
	if h.URL == "" {
		t.Skip("harness gives no URL to open")
	}
	if h.Outage == nil {
		t.Skip("harness cannot stage an outage")
	}
	u, err := url.Parse(h.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.wait())
	defer cancel()
	topic := uniqueTopic(t)
	var in inbox
	sub, err := h.client(t).Subscribe(ctx, topic, "g", in.handler, h.subOpts()...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	restore := h.outage(t)
	c, err := mq.Open(ctx, h.URL)
	if err == nil {
		c.Close()
	}
	expectErr(t, "Open", err, mq.ErrUnreachable)
	if err != nil && !strings.Contains(err.Error(), u.Host) {
		t.Errorf("Open's error %q does not name the address %s", err, u.Host)
	}
	lazy, err := mq.Open(ctx, h.URL, mq.WithLazyConnect(), mq.WithOutageBuffer(t.TempDir()),
		mq.WithRetry(resilience.RetryPolicy{InitialInterval: 5 * time.Millisecond, MaxInterval: 50 * time.Millisecond}),
		mq.WithBreaker(resilience.BreakerPolicy{OpenTimeout: 50 * time.Millisecond}))
	if err != nil {
		t.Fatalf("Open with WithLazyConnect while the broker is down: %v", err)
	}
	t.Cleanup(func() { lazy.Close() })
	sent := &mq.Message{Topic: topic, Key: "k", Payload: []byte("published before the broker was up")}
	if err := lazy.Publish(ctx, sent); err != nil || lazy.Buffered() == 0 {
		t.Fatalf("Publish through a lazy client while the broker is down: %v, %d buffered; want it buffered", err, lazy.Buffered())
	}
	restore()
	h.waitFor(t, "the buffered message", func() bool { m, _ := in.byID(sent.ID); return m != nil })
	c, err = mq.Open(ctx, h.URL)
	if err != nil {
		t.Fatalf("Open once the broker is back: %v", err)
	}
	c.Close()
}
