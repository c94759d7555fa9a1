package logship

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/groundwork-go/groundwork/internal/retrying"
)

// Permanent marks an error a Sink's Write returns for the whole request
// as one that trying again cannot help (a request the store rejects as
// malformed, credentials refused): the Shipper then dead-letters the
// batch instead of retrying it. Any other whole-request error is taken as
// retryable. errors.Is and errors.As see through the mark.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// deadLetters sends d.dead to the dead-letter sink, each record's JSON
// carrying the reason (see WithDeadLetter), under the retry policy; what
// it cannot deliver, or everything when there is no such sink, is logged
// and dropped, counted. It returns false when Shutdown gave up.
func (s *Shipper) deadLetters(d *delivery) bool {
	if len(d.dead) == 0 {
		return true
	}
	if s.o.deadLetter == nil {
		for _, dl := range d.dead {
			reason := reasonPermanent
			if dl.exhausted {
				reason = reasonRetriesExhausted
			}
			s.o.logger.Error("logship: sink refused a record; dropped (no dead-letter sink)",
				"id", dl.rec.ID, "service", dl.rec.Service, "err", dl.reason)
			s.dropped(reason, dl.rec.ID, 1)
		}
		return true
	}
	recs := make([]Record, len(d.dead))
	for i, dl := range d.dead {
		recs[i] = withDeadLetterReason(dl.rec, dl.reason, dl.attempts)
	}
	var res Result
	err := retrying.Do(s.ctx, s.o.retry, func(err error) bool { return !isPermanent(err) }, func(ctx context.Context) error {
		var err error
		start := time.Now()
		res, err = safeWrite(ctx, s.o.deadLetter, recs)
		s.tel.wrote(start, res, err)
		return err
	})
	if err != nil && s.ctx.Err() != nil {
		return false
	}
	if err != nil {
		s.o.logger.Error("logship: dead-letter sink failed; records dropped", "records", len(recs), "err", err)
		s.dropped(reasonDeadLetterFailed, "", len(recs))
		return true
	}
	failed := make(map[int]bool, len(res.Failures))
	for _, f := range res.Failures {
		if f.Index >= 0 && f.Index < len(recs) && !failed[f.Index] {
			failed[f.Index] = true
			s.o.logger.Error("logship: dead-letter sink refused a record; dropped", "id", recs[f.Index].ID, "err", f.Err)
			s.dropped(reasonDeadLetterFailed, recs[f.Index].ID, 1)
		}
	}
	s.tel.deadLettered.Add(int64(len(recs) - len(failed)))
	return true
}

// DeadLetterField is the top-level field of a dead-lettered record's JSON
// that says why it was refused: {"reason": "...", "attempts": n}.
const DeadLetterField = "logship_dead_letter"

// withDeadLetterReason returns r with its JSON carrying why it was
// refused: a DeadLetterField first in the object. A JSON that is not an
// object (which no Handler makes) is kept as a string in "message".
func withDeadLetterReason(r Record, reason error, attempts int) Record {
	field, _ := json.Marshal(struct {
		Reason   string `json:"reason"`
		Attempts int    `json:"attempts"`
	}{reason.Error(), attempts})
	out := make([]byte, 0, len(r.JSON)+len(field)+64)
	out = append(out, `{"`+DeadLetterField+`":`...)
	out = append(out, field...)
	body := trimSpace(r.JSON)
	switch {
	case len(body) >= 2 && body[0] == '{' && json.Valid(body):
		if inner := trimSpace(body[1 : len(body)-1]); len(inner) > 0 {
			out = append(out, ',')
			out = append(out, inner...)
		}
	default:
		msg, _ := json.Marshal(string(r.JSON))
		out = append(out, `,"message":`...)
		out = append(out, msg...)
	}
	r.JSON = append(out, '}')
	return r
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\n' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
