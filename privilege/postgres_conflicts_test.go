package privilege_test

import (
	"context"
	"errors"
	"testing"

	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/privilege"
	"github.com/groundwork-go/groundwork/privilege/privilegetest"
)

func TestPostgresStoreAllowConflicts(t *testing.T) {
	url := testserver.PostgresURL(t)
	privilegetest.RunAllowConflictsTests(t, func(t *testing.T) privilege.Store {
		pool := newPGPool(t, url)
		s, err := privilege.NewPostgresStore(context.Background(), pool, privilege.AllowConflicts())
		mustNil(t, err)
		return s
	})
	pool := newPGPool(t, url)
	if _, err := privilege.NewPostgresStore(context.Background(), pool, nil); !errors.Is(err, privilege.ErrInvalid) {
		t.Fatalf("a nil option: %v, want ErrInvalid", err)
	}
}
