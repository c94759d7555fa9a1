package privilege

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// unreachable reports whether err, a store's failure to answer, says the
// store could not be reached — the only failure WithFailOpen answers. An
// error that says the data or the caller is wrong (a stored policy that
// no longer compiles, a store closed by the application, a bad argument)
// is not an outage: serving a stale decision for it would hide the fault
// for as long as the window, so it stays a fail-closed deny. Anything not
// recognised as an outage is taken as such a fault.
//
// Outages: ErrUnavailable (a Store of one's own), a network error
// (refused, reset, unreachable, an I/O timeout), a connection that ended
// mid-reply (EOF), a timeout inside the store (a deadline the caller did
// not set: the engine checks the caller's context first), pgx's errors
// for a request that never reached the server (pgconn.SafeToRetry: a
// failed connect, a connection closed by the outage) and PostgreSQL's
// own "cannot serve now" codes: class 08 (connection exception), 57P01
// to 57P03 (shutting down, crashed, starting) and 53300 (too many
// connections).
func unreachable(err error) bool {
	if err == nil {
		return false
	}
	for _, fault := range []error{ErrClosed, ErrInvalid, ErrBadCondition, ErrCycle, ErrConflict, ErrNotFound, context.Canceled} {
		if errors.Is(err, fault) {
			return false
		}
	}
	var ne net.Error
	switch {
	case errors.Is(err, ErrUnavailable),
		errors.As(err, &ne),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, context.DeadlineExceeded),
		pgconn.Timeout(err), pgconn.SafeToRetry(err):
		return true
	}
	switch code := pgCode(err); {
	case strings.HasPrefix(code, "08"), code == "57P01", code == "57P02", code == "57P03", code == "53300":
		return true
	}
	return false
}
