package session

import "strings"

// opError is the failure of one operation: "session: <op>: <cause>", or
// "session: <op>: <kind>: <cause>" when the cause is put under a sentinel
// (ErrUnavailable for a store that failed). The leading "session: " of
// the kind and the cause (a sentinel's, or an inner opError's) is left out
// of the text, so that the package is named once; errors.Is and errors.As
// see the kind and the cause.
type opError struct {
	op   string
	kind error // nil, or the sentinel the cause is put under
	err  error
}

func (e *opError) Error() string {
	s := "session: " + e.op + ": "
	if e.kind != nil {
		s += strings.TrimPrefix(e.kind.Error(), "session: ") + ": "
	}
	return s + strings.TrimPrefix(e.err.Error(), "session: ")
}

func (e *opError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// wrapOp returns err, a failure of op, wrapped in an opError; nil stays
// nil.
func wrapOp(op string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{op: op, err: err}
}
