package eventstore

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Any, as the expected version of Append, skips the concurrency check:
// the events go after whatever the stream holds.
const Any uint64 = math.MaxUint64

// Errors returned by this package, matched with errors.Is.
var (
	// ErrConflict: the stream was not at the expected version. The error
	// is a *ConflictError naming the actual version.
	ErrConflict = errors.New("eventstore: version conflict")
	// ErrClosed: the Store (or Backend) was closed.
	ErrClosed = errors.New("eventstore: closed")
	// ErrInvalid: an argument or option is missing or malformed; the
	// message names it.
	ErrInvalid = errors.New("eventstore: invalid argument")
	// ErrDuplicate: an event's ID is already stored (or given twice in
	// one Append). Nothing of that Append is stored.
	ErrDuplicate = errors.New("eventstore: duplicate event ID")
)

// ConflictError is the error of an Append whose stream was not at the
// expected version. errors.Is(err, ErrConflict) holds for it.
type ConflictError struct {
	Aggregate string
	Expected  uint64 // the version the caller expected
	Actual    uint64 // the version the stream was at
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("eventstore: version conflict on %q: expected version %d, actual %d", e.Aggregate, e.Expected, e.Actual)
}

// Is reports ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// wrap names the operation, leaving context errors and this package's
// own errors as they are.
func wrap(op string, err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ce *ConflictError
	if errors.As(err, &ce) || errors.Is(err, ErrClosed) || errors.Is(err, ErrDuplicate) || errors.Is(err, ErrInvalid) {
		return err
	}
	return fmt.Errorf("eventstore: %s: %w", op, err)
}
