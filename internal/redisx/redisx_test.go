package redisx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestHashTag(t *testing.T) {
	for in, want := range map[string]string{"orders": "{orders}", "a}b": `{a\)b}`, `a\b`: `{a\\b}`, "": "{}"} {
		if got := HashTag(in); got != want {
			t.Errorf("HashTag(%q) = %q, want %q", in, got, want)
		}
	}
	if HashTag("a}b") == HashTag(`a\)b`) {
		t.Error("two topics share a hash tag")
	}
}

func TestRetryable(t *testing.T) {
	yes := []error{io.EOF, fmt.Errorf("wrapped: %w", io.ErrUnexpectedEOF), redis.ErrPoolTimeout,
		redisErr("LOADING Redis is loading the dataset in memory"), redisErr("CLUSTERDOWN The cluster is down"),
		redisErr("TRYAGAIN Multiple keys request during rehashing of slot"), redisErr("READONLY You can't write against a read only replica.")}
	no := []error{nil, context.Canceled, redis.ErrClosed, errors.New("boom"), redisErr("WRONGTYPE Operation against a key holding the wrong kind of value")}
	for _, err := range yes {
		if !Retryable(err) {
			t.Errorf("Retryable(%v) = false", err)
		}
	}
	for _, err := range no {
		if Retryable(err) {
			t.Errorf("Retryable(%v) = true", err)
		}
	}
}

// redisErr is an error as go-redis returns a server's error reply.
type redisErr string

func (e redisErr) Error() string { return string(e) }
func (redisErr) RedisError()     {}

func TestNewClient(t *testing.T) {
	for raw, want := range map[string]string{
		"http://h:1":        "scheme",
		"redis://h:1?x=1":   "unexpected option",
		"redis://a:1,b:2/1": "database 0",
	} {
		u, _ := url.Parse(raw)
		if _, err := NewClient(u, false); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error mentioning %q", raw, err, want)
		}
	}
}
