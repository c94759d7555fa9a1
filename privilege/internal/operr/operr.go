// Package operr is the error of one failed operation of privilege and of
// its internal packages, which cannot import privilege: it reads
// "privilege: <op>: <cause>" in every one of them.
package operr

import "strings"

// Error is the failure of one operation: "privilege: <op>: <cause>",
// where op names the call and what it was given (`put policy`,
// `routes: route 2 "GET /x"`). The cause's own leading "privilege: " (that
// of the sentinel it starts with, or of an inner Error) is left out of
// the text, so that the package is named once; errors.Is and errors.As
// see the cause.
type Error struct {
	Op  string
	Err error
}

func (e *Error) Error() string {
	return "privilege: " + e.Op + ": " + strings.TrimPrefix(e.Err.Error(), "privilege: ")
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Wrap returns err, a failure of op, wrapped in an Error; nil stays nil.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Op: op, Err: err}
}
