// Package privilegetest checks that a privilege.Store keeps the contract
// the Engine relies on. Every store of this module runs it against a real
// server; a third-party store can run it too.
package privilegetest

import (
	"testing"

	"github.com/groundwork-go/groundwork/privilege"
)

// RunStoreTests runs the Store contract on stores newStore makes (each
// empty; the suite closes them).
func RunStoreTests(t *testing.T, newStore func(t *testing.T) privilege.Store) {
	_ = newStore // the engine part writes the contract
}
