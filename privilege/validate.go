package privilege

// The checks both stores run on a write (owned by the engine part; the
// bodies below are placeholders until it lands).

// CompileCondition compiles and type-checks a policy condition, a CEL
// expression over subject, resource, action and env; a bad one is
// ErrBadCondition with its position. An empty condition always holds.
func CompileCondition(expr string) error {
	_ = expr
	return nil
}

// validatePolicy checks p on its own (ID, effect, patterns, condition)
// and against the existing active policies: a same-priority permit/deny
// pair on overlapping targets is ErrConflict.
func validatePolicy(p Policy, existing []Policy) error {
	_, _ = p, existing
	return nil
}

// validateRole checks r on its own and that its parents exist and make no
// cycle (ErrCycle); parentsOf returns a stored role's parents.
func validateRole(r Role, parentsOf func(id string) (parents []string, ok bool)) error {
	_, _ = r, parentsOf
	return nil
}

// matchPattern reports whether value matches pattern: "*" matches
// everything, "a/*" everything under a/ at any depth, else equality.
func matchPattern(pattern, value string) bool {
	return pattern == "*" || pattern == value
}
