package filestore_test

import (
	"strings"
	"testing"
)

// checkOnePrefix fails t unless err's message names the package once, at
// its start.
func checkOnePrefix(t *testing.T, err error) {
	t.Helper()
	if msg := err.Error(); !strings.HasPrefix(msg, "filestore: ") || strings.Count(msg, "filestore: ") != 1 {
		t.Errorf("error %q: want one %q, at the start", msg, "filestore: ")
	}
}
