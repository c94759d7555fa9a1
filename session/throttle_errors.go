package session

import (
	"context"
	"errors"
)

// throttleWrap names a throttle store operation in err, leaving context
// errors and ErrClosed bare so that callers can compare them.
func throttleWrap(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrClosed) {
		return err
	}
	return wrapOp(op, err)
}
