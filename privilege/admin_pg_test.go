package privilege_test

import (
	"testing"

	"github.com/groundwork-go/groundwork/privilege"
)

// TestAdminAPIPostgres runs the admin API tests on a PostgresStore: the
// same answers, from a real database (NUL and invalid UTF-8, which
// PostgreSQL refuses, never reach it).
func TestAdminAPIPostgres(t *testing.T) {
	url := sharedPostgres.Get(t)
	runAdminAPITests(t, func(t *testing.T) privilege.Store {
		s, _ := newPGStore(t, url)
		return s
	})
}
