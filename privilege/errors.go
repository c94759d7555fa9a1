package privilege

import "strings"

// opError is the failure of one operation: "privilege: <op>: <cause>",
// where op names the call and what it was given (`put policy`,
// `routes: route 2 "GET /x"`). The cause's own leading "privilege: " (that
// of the sentinel it starts with, or of an inner opError) is left out of
// the text, so that the package is named once; errors.Is and errors.As
// see the cause.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string {
	return "privilege: " + e.op + ": " + strings.TrimPrefix(e.err.Error(), "privilege: ")
}

func (e *opError) Unwrap() error { return e.err }

// wrapOp returns err, a failure of op, wrapped in an opError; nil stays
// nil.
func wrapOp(op string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{op: op, err: err}
}
