package privilege

import "fmt"

// ConditionError is the ErrBadCondition of a condition that does not
// compile or type-check, with where: Line and Column count from 1 (a
// Column of 0 means the position is unknown). errors.Is(err,
// ErrBadCondition) holds for it; errors.As gives the position, which the
// admin API returns as fields rather than text.
type ConditionError struct {
	Line, Column int
	Msg          string
}

// Error reads "privilege: bad condition: line L, column C: message".
func (e *ConditionError) Error() string {
	return fmt.Sprintf("%v: line %d, column %d: %s", ErrBadCondition, e.Line, e.Column, e.Msg)
}

// Unwrap returns ErrBadCondition.
func (e *ConditionError) Unwrap() error { return ErrBadCondition }
