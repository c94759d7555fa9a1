package privilege

import "github.com/groundwork-go/groundwork/privilege/internal/operr"

// wrapOp returns err, a failure of op, wrapped so that it reads
// "privilege: <op>: <cause>" (see operr.Error); nil stays nil.
func wrapOp(op string, err error) error { return operr.Wrap(op, err) }
