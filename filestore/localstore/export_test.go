package localstore

import "testing"

// SetTestHook makes f run before each step a link swapped in meanwhile
// could redirect (see testHook), until t ends.
func SetTestHook(t testing.TB, f func(op, name string)) {
	testHook = f
	t.Cleanup(func() { testHook = nil })
}
