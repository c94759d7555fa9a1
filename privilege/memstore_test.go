package privilege_test

import (
	"testing"

	"github.com/groundwork-go/groundwork/privilege"
	"github.com/groundwork-go/groundwork/privilege/privilegetest"
)

func TestMemoryStore(t *testing.T) {
	privilegetest.RunStoreTests(t, func(t *testing.T) privilege.Store { return privilege.NewMemoryStore() })
}
