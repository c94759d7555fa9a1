package testserver

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// Isolated runs the calling test alone in a fresh process — the test
// binary re-executed with -test.run for just this test — and relays its
// outcome, so that what it measures (RSS) is not swayed by what earlier
// tests left in the heap. It returns true in the parent, which must then
// return, and false in the child, which runs the test's body.
func Isolated(t *testing.T) bool {
	t.Helper()
	if os.Getenv("GROUNDWORK_ISOLATED") == t.Name() {
		return false
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "GROUNDWORK_ISOLATED="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("isolated run:\n%s", out)
	switch {
	case err != nil:
		t.Fatalf("isolated run of %s failed: %v", t.Name(), err)
	case strings.Contains(string(out), "--- SKIP: "+t.Name()):
		t.Skip("skipped in its isolated run")
	case !strings.Contains(string(out), "--- PASS: "+t.Name()):
		t.Fatalf("isolated run of %s did not report a pass", t.Name())
	}
	return true
}
