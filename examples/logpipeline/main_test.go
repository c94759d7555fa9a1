package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

var update = flag.Bool("update", false, "rewrite testdata/output.txt with this run's output")

// golden is the example's output after its first line (which names the
// backends), the same on every run and every backend: the health
// checks sampled down to 9, the Alerter quiet through the normal steps
// and firing once on the spike, every record indexed once and archived
// once under the same event id, the e-mail address and the card number
// redacted in every document, trace.id from the caller's traceparent.
var golden = filepath.Join("testdata", "output.txt")

// TestExample runs the example as `go run` does: mem://, the estest
// double, a temporary directory.
func TestExample(t *testing.T) {
	t.Setenv("GROUNDWORK_KAFKA_BROKERS", "")
	t.Setenv("GROUNDWORK_REDIS_URL", "")
	t.Setenv("GROUNDWORK_ES_URL", "")
	t.Setenv("GROUNDWORK_ARCHIVE_URL", "")
	check(t, "broker mem:// (in-process)")
}

// TestExampleRedis carries the logs over a real redis-server's Streams.
// Under CI=true a missing redis-server fails the test.
func TestExampleRedis(t *testing.T) {
	t.Setenv("GROUNDWORK_KAFKA_BROKERS", "")
	t.Setenv("GROUNDWORK_REDIS_URL", testserver.StartRedis(t, nil).URL)
	check(t, "broker Redis")
}

// TestExampleKafka carries them over Kafka (kfake: the Kafka protocol,
// in process, three brokers).
func TestExampleKafka(t *testing.T) {
	t.Setenv("GROUNDWORK_KAFKA_BROKERS", strings.Join(testserver.StartKafka(t).Brokers, ","))
	check(t, "broker Kafka")
}

// TestExampleArchiveURL archives to a store GROUNDWORK_ARCHIVE_URL names
// (a directory here; s3://... likewise), under a prefix of the run's own,
// which the run deletes at the end.
func TestExampleArchiveURL(t *testing.T) {
	t.Setenv("GROUNDWORK_KAFKA_BROKERS", "")
	t.Setenv("GROUNDWORK_REDIS_URL", "")
	dir := t.TempDir()
	t.Setenv("GROUNDWORK_ARCHIVE_URL", fileURL(dir))
	check(t, "archive in a filestore")
	store, err := filestore.Open(context.Background(), fileURL(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for info, err := range store.List(context.Background(), "") {
		if err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s is left in the archive store", info.Name)
	}
}

func check(t *testing.T, backend string) {
	t.Helper()
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent()) // run closes all it started
	var out strings.Builder
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("%v; output so far:\n%s", err, out.String())
	}
	first, got, _ := strings.Cut(out.String(), "\n")
	if !strings.Contains(first, backend) {
		t.Errorf("first line %q does not name %q", first, backend)
	}
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
