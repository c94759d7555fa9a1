package asyncrpc_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChild() // re-executed by TestServerKilledMidWork; never returns
	}
	goleak.VerifyTestMain(m)
}
