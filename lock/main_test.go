package lock_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "contend":
		contendChild() // re-executed by TestMutualExclusion; exits
	case "hold":
		holdChild() // re-executed by TestPausedHolderLosesTheLock; exits
	}
	goleak.VerifyTestMain(sharedLockers.StopAfter(m)) // the shared servers stop before goleak looks
}
