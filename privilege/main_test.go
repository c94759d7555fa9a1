package privilege_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(sharedPostgres.StopAfter(m)) // the shared cluster stops before goleak looks
}
