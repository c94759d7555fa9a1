package privilege

// Test access to PostgresStore's seams (package privilege_test).

// SetPGValidateRole replaces the shared role check s calls, for tests of
// the store's locking that must not wait for the real check.
func SetPGValidateRole(s *PostgresStore, fn func(Role, func(string) ([]string, bool), func(string) []string) error) {
	s.validateRole = fn
}

// SetPGValidatePolicy replaces the shared policy check s calls.
func SetPGValidatePolicy(s *PostgresStore, fn func(Policy, []Policy) error) { s.validatePolicy = fn }

// SetPGAfterValidate sets the hook run inside each write transaction
// after its checks passed, before it writes.
func SetPGAfterValidate(s *PostgresStore, fn func(op string)) { s.afterValidate = fn }
