package localstore

import (
	"path/filepath"
	"testing"
)

// SetTestHook makes f run before each step tests interleave with other
// programs' changes (see testHook), until t ends.
func SetTestHook(t testing.TB, f func(op, name string)) {
	testHook = f
	t.Cleanup(func() { testHook = nil })
}

// AttrsFile is the path of name's attributes file relative to the
// store's directory.
func AttrsFile(name string) string { return filepath.Join(reserved, attrsPath(name)) }

// CheckNameFor is checkNameFor: the name rules of Windows (windows true)
// or of the other platforms.
var CheckNameFor = checkNameFor
