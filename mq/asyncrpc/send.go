package asyncrpc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.opentelemetry.io/otel/propagation"

	"github.com/groundwork-go/groundwork/internal/retrying"
)

// maxRetryAfter caps a Retry-After a server asks for, so that no value
// overflows a time.Duration; the retry policy bounds the wait further.
const maxRetryAfter = 24 * time.Hour

// send sends the call's request until the server accepts it, resending it
// under the same key while the server answers 503 or 429, within the
// client's retry policy and ctx.
func (call *Call) send(ctx context.Context) error {
	p := call.c.o.Retry
	start := time.Now()
	var b backoff.BackOff
	for attempt := 1; ; attempt++ {
		retryAfter, retry, err := call.sendOnce(ctx)
		if !retry || (p.MaxAttempts > 0 && attempt >= p.MaxAttempts) {
			return err
		}
		if b == nil {
			b = retrying.NewBackOff(p)
		}
		wait := b.NextBackOff()
		if wait == backoff.Stop {
			return err
		}
		wait = max(wait, retryAfter) // the server's word is the least wait
		if p.MaxElapsedTime > 0 && time.Since(start)+wait > p.MaxElapsedTime {
			return err // the server asks for longer than the policy allows
		}
		if call.c.wait(ctx, wait) != nil {
			return err // the refusal says more than ctx's error
		}
	}
}

// sendOnce sends the request once. It reports whether a refusal may be
// retried (503, 429) and the Retry-After that came with it.
func (call *Call) sendOnce(ctx context.Context) (retryAfter time.Duration, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, call.method, call.url, bytes.NewReader(call.body))
	if err != nil {
		return 0, false, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	req.Header = call.header.Clone()
	req.Header.Set(HeaderMessageKey, call.key)
	req.Header.Set(HeaderResponseTopic, call.c.o.ResponseTopic)
	call.c.o.Propagator.Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := call.c.o.HTTPClient.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("asyncrpc: %s %s: %w", call.method, call.url, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode == http.StatusAccepted {
		return 0, false, nil
	}
	err = fmt.Errorf("%w: %s %s: %s: %s", ErrRejected, call.method, call.url, resp.Status, bytes.TrimSpace(snippet))
	retry = resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests
	return parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), retry, err
}

// parseRetryAfter reads a Retry-After header (RFC 9110 §10.2.3): delay
// seconds or an HTTP date. It is outside input: anything unreadable, or
// a date in the past, is no wait; a wait is at most maxRetryAfter.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil {
		if secs > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return min(max(at.Sub(now), 0), maxRetryAfter)
	}
	return 0
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
