package privilege

// Test access to PostgresStore's seams (package privilege_test).

// SetPGValidateRole replaces the shared role check s calls, for tests of
// the store's locking that must not wait for the real check.
func SetPGValidateRole(s *PostgresStore, fn func(Role, func(string) ([]string, bool)) error) {
	s.validateRole = fn
}

// SetPGValidatePolicy replaces the shared policy check s calls.
func SetPGValidatePolicy(s *PostgresStore, fn func(Policy, []Policy) error) { s.validatePolicy = fn }

// SetPGAfterValidate sets the hook run inside each write transaction
// after its checks passed, before it writes.
func SetPGAfterValidate(s *PostgresStore, fn func(op string)) { s.afterValidate = fn }

// ValidateRoleIsPlaceholder reports whether validateRole is still the
// skeleton's placeholder (it passes a role that is its own parent).
func ValidateRoleIsPlaceholder() bool {
	return validateRole(Role{ID: "a", Name: "a", Parents: []string{"a"}, Active: true},
		func(id string) ([]string, bool) { return []string{"a"}, id == "a" }) == nil
}
