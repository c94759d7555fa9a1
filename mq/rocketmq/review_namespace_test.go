package rocketmq

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/mq"
	"github.com/groundwork-go/groundwork/mq/driver"
)

// TestReviewNamespaceChecked: the namespace becomes part of every topic
// and group name ("ns%topic"), so one RocketMQ refuses is a bad URL at
// Open, not a failure of every later call.
func TestReviewNamespaceChecked(t *testing.T) {
	for _, ns := range []string{"a.b", "a%b", "a b", "ns/1", strings.Repeat("n", 200)} {
		u, err := url.Parse("rocketmq://127.0.0.1:9876?namespace=" + url.QueryEscape(ns))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseURL(u); !errors.Is(err, driver.ErrBadURL) || !strings.Contains(err.Error(), "namespace") {
			t.Errorf("namespace %q: %v, want ErrBadURL naming the namespace", ns, err)
		}
	}
	for _, ns := range []string{"", "prod", "team_a-1", "MQ_INST_123"} {
		u, _ := url.Parse("rocketmq://127.0.0.1:9876?namespace=" + ns)
		if _, err := parseURL(u); err != nil {
			t.Errorf("namespace %q: %v", ns, err)
		}
	}
}

// TestReviewNamespacedTopicTooLong: a topic that fits RocketMQ's 127
// bytes alone but not with the namespace in front is refused before
// sending, as a permanent error (a route lookup for it failed, which mq
// takes for an outage and retries for ever).
func TestReviewNamespacedTopicTooLong(t *testing.T) {
	ctx := context.Background()
	c, err := New(ctx, []string{"127.0.0.1:1"}, &Options{Namespace: "tenant1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	topic := strings.Repeat("t", 125)
	err = c.Publish(ctx, []driver.Message{{Topic: topic, ID: "1", Payload: []byte("x")}})
	if !errors.Is(err, mq.ErrInvalid) || c.IsRetryable(err) {
		t.Fatalf("publish to %d-byte topic in namespace tenant1: %v (retryable %v), want ErrInvalid", len(topic), err, c.IsRetryable(err))
	}
	if _, err := c.Subscribe(ctx, topic, "g"); !errors.Is(err, mq.ErrInvalid) {
		t.Fatalf("subscribe: %v, want ErrInvalid", err)
	}
}

// TestReviewResolveAllAddresses: a name server given by a host name that
// resolves to several addresses (a DNS name for the whole name-server
// set) is all of them, so that the client fails over between them.
func TestReviewResolveAllAddresses(t *testing.T) {
	old := lookupHost
	t.Cleanup(func() { lookupHost = old })
	lookupHost = func(_ context.Context, host string) ([]string, error) {
		if host != "namesrv.example" {
			t.Fatalf("looked up %q", host)
		}
		return []string{"10.0.0.1", "10.0.0.2", "fd00::3", "10.0.0.1"}, nil
	}
	got, err := resolve(context.Background(), []string{"namesrv.example:9876", "10.0.0.9:9876", "10.0.0.1:9876"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "10.0.0.1:9876 10.0.0.2:9876 [fd00::3]:9876 10.0.0.9:9876"; strings.Join(got, " ") != want {
		t.Fatalf("resolved %q, want %q", got, want)
	}
}

// TestReviewLockIntervalBounded: the client counts a queue's lock as lapsed
// 30 s after its last renewal (and stops consuming the queue), and the
// broker lets it go after 60 s, so a lock_interval of a minute breaks what
// the lock is for; one of a nanosecond renews in a tight loop.
// suspend_interval under a millisecond is 0 for the client: an immediate
// redelivery loop.
func TestReviewLockIntervalBounded(t *testing.T) {
	for _, raw := range []string{"lock_interval=45s", "lock_interval=1h", "lock_interval=1ns", "suspend_interval=1us"} {
		u, _ := url.Parse("rocketmq://127.0.0.1:9876?" + raw)
		if _, err := parseURL(u); !errors.Is(err, driver.ErrBadURL) {
			t.Errorf("%s: %v, want ErrBadURL", raw, err)
		}
	}
	if _, err := New(context.Background(), []string{"127.0.0.1:1"}, &Options{LockInterval: time.Minute}); !errors.Is(err, mq.ErrInvalid) {
		t.Errorf("Options.LockInterval 1m: %v, want ErrInvalid", err)
	}
	for _, raw := range []string{"lock_interval=1s", "lock_interval=25s", "suspend_interval=1ms"} {
		u, _ := url.Parse("rocketmq://127.0.0.1:9876?" + raw)
		if _, err := parseURL(u); err != nil {
			t.Errorf("%s: %v", raw, err)
		}
	}
}
