package asyncrpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/groundwork-go/groundwork/mq"
)

// job is an accepted request waiting in the queue: a call to run, or a
// completed call whose stored response is to be published again.
type job struct {
	req       *Request
	topic     string
	claimed   time.Time // when this server claimed the key
	completed bool      // a repeat of a completed call: publish stored
	stored    []byte
	size      int64 // what it counts against MaxQueuedBytes
}

// run is a worker's handling of one job.
func (s *Server) run(j *job) {
	key := j.req.MessageKey
	if s.ctx.Err() != nil {
		// Shutdown's deadline passed before this job started: leave the
		// call to a resend on another server.
		if !j.completed {
			s.release(key)
		}
		return
	}
	// The trace context is read here rather than kept in the job: a
	// context is not stored in a struct.
	ctx := s.o.Propagator.Extract(s.ctx, propagation.HeaderCarrier(j.req.Header))
	if j.completed {
		s.republish(ctx, j.topic, key, j.stored)
		return
	}
	if !s.stillHeld(ctx, j) {
		return
	}
	ctx, lost := context.WithCancelCause(ctx)
	defer lost(nil)
	stopRenew := s.renew(key, j.claimed, lost)
	resp := s.call(ctx, j.req)
	stopRenew()
	if errors.Is(context.Cause(ctx), ErrLeaseLost) {
		s.o.Logger.Warn("asyncrpc: the claim was lost while working; the response is dropped", "key", key, "cause", context.Cause(ctx))
		return
	}
	s.complete(ctx, j.topic, key, resp)
}

// stillHeld makes sure this server still holds the claim on a job that
// waited in the queue for a while: its lease may have run out meanwhile,
// and another server may have taken the call.
func (s *Server) stillHeld(ctx context.Context, j *job) bool {
	key := j.req.MessageKey
	if time.Since(j.claimed) < s.o.Lease/3 {
		return true // renewed on the usual schedule from now on
	}
	if ok, err := s.o.Idempotency.Renew(ctx, key, s.owner, s.o.Lease); err == nil && ok {
		j.claimed = time.Now()
		return true
	}
	res, stored, err := s.o.Idempotency.Claim(ctx, key, s.owner, s.o.Lease)
	switch {
	case err != nil:
		s.o.Logger.Error("asyncrpc: cannot re-claim a call that waited past its lease; a resend runs it", "key", key, "err", err)
		return false
	case res == Completed:
		s.republish(ctx, j.topic, key, stored)
		return false
	case res == Running:
		return false // another server took it over
	}
	j.claimed = time.Now()
	return true
}

// complete stores the response with the key, then publishes it. Stored
// first: if the publish is lost (an error, or a server that dies with the
// response in its outage buffer), a resend publishes the stored response
// without running the work again.
func (s *Server) complete(ctx context.Context, topic, key string, resp *Response) {
	// Published even when Shutdown's deadline cancelled the work: the
	// caller is owed its (error) response. mq's retry policy and outage
	// buffer bound and carry the publish.
	bg := context.WithoutCancel(ctx)
	msg, err := resp.toMessage(topic, key)
	var stored []byte
	if err == nil {
		stored, err = encodeStored(resp)
	}
	if err != nil { // only a header that does not encode as JSON; not seen from an http.Header
		s.o.Logger.Error("asyncrpc: encoding the response failed; a resend runs the call again", "key", key, "err", err)
		s.release(key)
		return
	}
	ok, err := s.o.Idempotency.Complete(bg, key, s.owner, stored, s.o.Remember)
	if err == nil && !ok {
		s.o.Logger.Warn("asyncrpc: another server took the call over before it completed here; the response is dropped", "key", key)
		return
	}
	recorded := err == nil
	if !recorded {
		s.o.Logger.Warn("asyncrpc: recording the call as done failed; it runs again on a resend once its lease ends",
			"key", key, "err", err)
	}
	if err := s.mqc.Publish(bg, msg); err != nil {
		if recorded {
			s.o.Logger.Error("asyncrpc: publishing the response failed; a resend publishes it again",
				"key", key, "topic", topic, "err", err)
			return
		}
		s.o.Logger.Error("asyncrpc: publishing the response failed; a resend runs the call again",
			"key", key, "topic", topic, "err", err)
		s.release(key)
	}
}

// republish publishes the stored response of a completed call again.
func (s *Server) republish(ctx context.Context, topic, key string, stored []byte) {
	resp, err := decodeStored(stored)
	if err == nil {
		var msg *mq.Message
		if msg, err = resp.toMessage(topic, key); err == nil {
			err = s.mqc.Publish(context.WithoutCancel(ctx), msg)
		}
	}
	if err != nil {
		s.o.Logger.Error("asyncrpc: publishing the stored response again failed", "key", key, "topic", topic, "err", err)
	}
}

func (s *Server) release(key string) {
	if err := s.o.Idempotency.Release(context.Background(), key, s.owner); err != nil {
		s.o.Logger.Warn("asyncrpc: releasing the claim failed", "key", key, "err", err)
	}
}

// call runs the work function, turning an error or a panic into a 500
// response and a nil response into 204.
func (s *Server) call(ctx context.Context, req *Request) (resp *Response) {
	ctx, cancel := context.WithTimeout(ctx, s.o.WorkTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			resp = errorResponse(fmt.Errorf("work panicked: %v", p))
		}
	}()
	resp, err := s.work(ctx, req)
	switch {
	case err != nil:
		return errorResponse(err)
	case resp == nil:
		return &Response{StatusCode: http.StatusNoContent}
	case resp.StatusCode == 0:
		resp.StatusCode = http.StatusOK
	}
	return resp
}

func errorResponse(err error) *Response {
	body, _ := json.Marshal(map[string]string{"error": err.Error()})
	return &Response{StatusCode: http.StatusInternalServerError, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
}

// renew keeps the claim on key alive, from its last renewal at since,
// until the returned function is called. When the claim is gone (another
// server holds it) or cannot be renewed before the lease runs out (the
// store is unreachable), it calls lost with ErrLeaseLost: the work must
// stop, since another server may be running the call.
func (s *Server) renew(key string, since time.Time, lost context.CancelCauseFunc) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(max(s.o.Lease/3, time.Millisecond)) // a tiny Lease must not make a zero ticker
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			// Bounded by a tick, so a hanging store cannot hold the
			// loop past the lease.
			ctx, cancel := context.WithTimeout(context.Background(), s.o.Lease/3)
			ok, err := s.o.Idempotency.Renew(ctx, key, s.owner, s.o.Lease)
			cancel()
			switch {
			case err == nil && ok:
				since = time.Now()
			case err == nil:
				lost(ErrLeaseLost)
				return
			case time.Since(since) >= s.o.Lease:
				lost(fmt.Errorf("%w: cannot renew it: %v", ErrLeaseLost, err))
				return
			default:
				s.o.Logger.Warn("asyncrpc: renewing the claim failed; trying again", "key", key, "err", err)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
