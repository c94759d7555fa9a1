package privilege

import (
	"errors"
	"time"
)

// Request is one access question: may Subject do Action on Resource?
// The attribute maps feed ABAC conditions (subject, resource, env).
type Request struct {
	Subject       string
	SubjectAttrs  map[string]any
	Resource      string
	ResourceAttrs map[string]any
	Action        string
	Env           map[string]any
}

// Decision is an answer and why: the role whose permission allowed it,
// or the policy that decided, and the version of the rules it was made
// on.
type Decision struct {
	Allowed  bool
	Reason   string
	PolicyID string
	Role     string
	Version  uint64
}

// Role is a named set of permissions. Parents make roles a DAG: a role
// has its parents' permissions too ("Senior Developer" → "Developer" →
// "Employee"); a cycle is rejected (ErrCycle). An inactive role grants
// nothing, to its holders or to its children.
type Role struct {
	ID, Name string
	Parents  []string
	Active   bool
}

// Permission is an action on resources. Resource is a pattern: "*" is
// every resource; "orders/*" is everything under orders/ at any depth
// (casbin's keyMatch); anything else is exact. Action "*" is any action.
type Permission struct {
	Resource, Action string
}

// Effect is what an applicable policy decides.
type Effect int

const (
	// Permit allows the request.
	Permit Effect = iota + 1
	// Deny refuses it, overriding every permit.
	Deny
)

// Policy is an ABAC rule: when the request matches Target and Condition
// (a CEL expression over subject, resource, action and env) holds, its
// Effect applies. Policies are evaluated by Priority, higher first.
type Policy struct {
	ID        string `json:"id"`
	Name      string `json:"name,omitempty"`
	Priority  int    `json:"priority"`
	Effect    Effect `json:"effect"`
	Target    Target `json:"target"`
	Condition string `json:"condition,omitempty"`
	Active    bool   `json:"active"`
}

// Target says which requests a policy applies to: patterns of subjects,
// resources and actions (as in Permission); an empty list is any.
type Target struct {
	Subjects  []string `json:"subjects,omitempty"`
	Resources []string `json:"resources,omitempty"`
	Actions   []string `json:"actions,omitempty"`
}

// Grant gives a user a role, until Expires (zero: for good).
type Grant struct {
	UserID, RoleID string
	Expires        time.Time
}

var (
	// ErrCycle is the error of a PutRole whose parents would make a cycle.
	ErrCycle = errors.New("privilege: role hierarchy cycle")
	// ErrBadCondition is the error of a PutPolicy whose CEL condition does
	// not compile or type-check; the message holds the position.
	ErrBadCondition = errors.New("privilege: bad condition")
	// ErrConflict is the error of a PutPolicy that would make a
	// same-priority permit and deny apply to overlapping targets, unless
	// the store was made with AllowConflicts.
	ErrConflict = errors.New("privilege: conflicting policies")
	// ErrClosed is returned by every method of a closed Engine or Store.
	ErrClosed = errors.New("privilege: closed")
	// ErrNotFound names a role or policy that does not exist.
	ErrNotFound = errors.New("privilege: not found")
	// ErrInvalid names a bad argument or option.
	ErrInvalid = errors.New("privilege: invalid argument")
	// ErrUnavailable marks a store error that means the store could not
	// be reached (see WithFailOpen). A Store of one's own wraps it in such
	// errors; the stores of this package are recognised without it.
	ErrUnavailable = errors.New("privilege: store unavailable")
)
