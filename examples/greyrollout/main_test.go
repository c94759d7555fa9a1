package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/internal/testserver"
)

var update = flag.Bool("update", false, "rewrite testdata/output.txt with this run's output")

// golden is the example's whole output, the same on every run: tenants'
// buckets are a stable hash and each stage waits until the Router has
// applied the change. It shows each raise of the rollout moving only
// tenants from v1 to v2 (every one already on v2 stays), the pinned
// tenants staying on v1, the failing v3 canary rolled back once (the
// callback and the mq consumer seeing the same event) and its tenants
// back on v2.
var golden = filepath.Join("testdata", "output.txt")

// TestExample runs the example as `go run` does, on the embedded Redis.
func TestExample(t *testing.T) {
	t.Setenv("GROUNDWORK_REDIS_URL", "")
	check(t)
}

// TestExampleRedisServer runs it against a real redis-server: the Lua
// scripts and Pub/Sub of the embedded Redis are a stand-in, this is the
// real thing. Under CI=true a missing redis-server fails the test.
func TestExampleRedisServer(t *testing.T) {
	t.Setenv("GROUNDWORK_REDIS_URL", testserver.StartRedis(t, nil).URL)
	check(t)
}

func check(t *testing.T) {
	t.Helper()
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent()) // run closes all it started
	var out strings.Builder
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("%v; output so far:\n%s", err, out.String())
	}
	got := out.String()
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -run %s -update rewrites it)\n got:\n%s\nwant:\n%s", golden, t.Name(), got, want)
	}
}
