// Package mqtest is the conformance suite every mq provider runs against a
// real broker, and the benchmarks every provider reports.
//
//	func TestConformance(t *testing.T) {
//		mqtest.RunConformanceTests(t, mqtest.Harness{NewClient: ...})
//	}
//
// The suite asserts the guarantees package mq documents: round trips that
// keep ID, key, headers and payload; fan-out across groups and load
// sharing within one; per-key order under concurrency with two members;
// redelivery, dead-lettering and panics; handler errors marked
// mq.Permanent (dead-lettered at once) and mq.RetryAfter (the wait asked
// for, still an attempt); a member dying without acking; outages with and
// without the outage buffer, publishing on while it drains; every call of
// the API during an outage failing with ErrUnreachable or ErrCircuitOpen
// (or buffering), with package mq named once in the error; Open checking
// that the broker answers, and WithLazyConnect opening anyway; a buffered
// message the broker refuses for good reaching the dead-letter topic or
// the quarantine while later ones still arrive; dedup; Close draining;
// bad input; and Subscription.As. It waits on events with generous
// deadlines and never on fixed sleeps.
package mqtest

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
)

// Harness describes the provider under test.
type Harness struct {
	// NewClient returns a new client connected to the broker under test,
	// with opts applied. Each call is a separate connection, so two
	// clients subscribed to one group are two members. The suite closes
	// the clients it creates.
	NewClient func(t testing.TB, opts ...mq.Option) *mq.Client
	// URL, when set, is the URL NewClient opens: the suite then opens it
	// itself to test mq.Open (its reachability check during an outage,
	// mq.WithLazyConnect). Empty skips those checks (and says so).
	URL string
	// Outage, when set, makes the broker unreachable for every client
	// until the returned function is called. Nil skips the outage tests
	// (and says so).
	Outage func(t testing.TB) (restore func())
	// Refuse, when set, prepares topic so that the broker refuses one
	// message for good although the client's own checks let it through
	// (for example one over a topic-level size limit below the client's
	// limit), and returns that message. Messages on topic whose key is in
	// accept must still be accepted. Nil skips the refused-message test
	// (and says so).
	Refuse func(t testing.TB, topic string, accept []string) *mq.Message
	// MaxMessageBytes is the provider's size limit as configured for the
	// clients; 0 skips the ErrTooLarge test. It must allow 1 MiB.
	MaxMessageBytes int
	// SubscribeOptions are added to every Subscribe the suite makes (for
	// example to shorten a provider's visibility timeout).
	SubscribeOptions []mq.SubscribeOption
	// SubscriptionAs, when set, returns a new target (a pointer to the
	// zero value) that Subscription.As fills with the provider's native
	// consumer of a subscription, for example new(*kgo.Client). Nil: the
	// provider hands out none, and the suite checks only that As refuses
	// a foreign type.
	SubscriptionAs func() any
	// Wait bounds every wait for an expected event. Default 2 minutes:
	// deadlines are generous because test machines are shared.
	Wait time.Duration
}

func (h Harness) wait() time.Duration {
	if h.Wait > 0 {
		return h.Wait
	}
	return 2 * time.Minute
}

func (h Harness) client(t testing.TB, opts ...mq.Option) *mq.Client {
	t.Helper()
	c := h.NewClient(t, opts...)
	t.Cleanup(func() { c.Close() })
	return c
}

func (h Harness) subOpts(extra ...mq.SubscribeOption) []mq.SubscribeOption {
	return append(append([]mq.SubscribeOption(nil), h.SubscribeOptions...), extra...)
}

// uniqueTopic returns a topic name no other test uses, so tests never see
// each other's messages on a shared broker.
func uniqueTopic(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.NewReplacer("/", ".", " ", "_", "#", "_").Replace(t.Name())
	return "conf." + name + "." + hex.EncodeToString(b[:])
}

// waitFor polls cond until it holds or the harness deadline passes.
func (h Harness) waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(h.wait())
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s", h.wait(), what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
