// Package sessiontest checks that a session.Store keeps the contract the
// session package relies on. Every store of this module runs it against a
// real server; a third-party store can run it too.
package sessiontest

import (
	"testing"

	"github.com/groundwork-go/groundwork/session"
)

// Harness makes fresh stores for the tests.
type Harness struct {
	// NewStore returns an empty store (or one no other test uses); the
	// suite closes it.
	NewStore func(t *testing.T) session.Store
}

// RunStoreTests runs every test of the Store contract.
func RunStoreTests(t *testing.T, h Harness) {
	t.Run("Sessions", func(t *testing.T) { testSessions(t, h) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, h) })
	t.Run("Throttle", func(t *testing.T) { testThrottle(t, h) })
	t.Run("Devices", func(t *testing.T) { testDevices(t, h) })
}
