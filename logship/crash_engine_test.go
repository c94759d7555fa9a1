package logship

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/groundwork-go/groundwork/resilience"
)

// The crash test runs the test binary again as a child (crashChildEnv
// set) that logs through a Shipper with WithBuffer to a file sink failing
// every other Write, and every Write from record 2500 on, and reports on stdout each record whose submit
// returned. The parent SIGKILLs it mid-stream, then a new Shipper on the
// same directory replays: every reported record must reach the file,
// intact; a record may be there twice (at-least-once), with the same
// event id and the same document.
const (
	crashChildEnv = "GW_LOGSHIP_CRASH_CHILD"
	crashDirEnv   = "GW_LOGSHIP_CRASH_DIR"
	crashOutEnv   = "GW_LOGSHIP_CRASH_OUT"
)

// crashFileSink appends each accepted batch to a file as "id\tjson" lines,
// in one write, so that a kill never leaves half a batch. Every
// failEvery-th Write fails as a whole, retryably, and so does every Write
// of a record from downFrom on (when set): the sink goes down for good, so
// that when the kill comes there surely are records in flight.
type crashFileSink struct {
	mu        sync.Mutex
	f         *os.File
	n         int
	failEvery int
	downFrom  int
}

func (s *crashFileSink) Write(_ context.Context, batch []Record) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if s.failEvery > 0 && s.n%s.failEvery == 0 {
		return Result{}, errEngineDown
	}
	if s.downFrom > 0 {
		for _, r := range batch {
			if n, _ := strconv.Atoi(strings.TrimPrefix(r.ID, "e")); n >= s.downFrom {
				return Result{}, errEngineDown
			}
		}
	}
	var b bytes.Buffer
	for _, r := range batch {
		b.WriteString(r.ID)
		b.WriteByte('\t')
		b.Write(r.JSON)
		b.WriteByte('\n')
	}
	_, err := s.f.Write(b.Bytes())
	return Result{}, err
}

func (s *crashFileSink) Close(context.Context) error { return nil }

func TestShipperSurvivesSIGKILL(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		crashChild()
		return
	}
	engineNoLeaks(t)
	dir, out := t.TempDir(), t.TempDir()+"/delivered"
	cmd := exec.Command(os.Args[0], "-test.run=^TestShipperSurvivesSIGKILL$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashDirEnv+"="+dir, crashOutEnv+"="+out)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once it has submitted 3000 records, while it is still at it.
	submitted := map[string]bool{}
	sc := bufio.NewScanner(stdout)
	killed := false
	for sc.Scan() {
		id, ok := strings.CutPrefix(sc.Text(), "SUBMITTED ")
		if !ok {
			continue // a torn last line, or the test framework's
		}
		submitted[id] = true
		if len(submitted) == 3000 && !killed {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL on unix
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("the child ended before it was killed: %v", err)
	}
	if len(submitted) < 3000 {
		t.Fatalf("only %d records submitted", len(submitted))
	}

	// Restart on the same buffer, with a sink that works, and drain it.
	f, err := os.OpenFile(out, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := NewShipper(&crashFileSink{f: f}, WithBuffer(dir), WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	delivered := map[string]string{}
	dups := 0
	for line := range strings.Lines(string(data)) {
		id, doc, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		if !ok {
			t.Fatalf("corrupt line %q", line)
		}
		n, err := strconv.Atoi(strings.TrimPrefix(id, "e"))
		if err != nil || doc != string(crashRecord(n).JSON) {
			t.Fatalf("corrupt record %q: %q", id, doc)
		}
		if prev, ok := delivered[id]; ok {
			dups++
			if prev != doc {
				t.Fatalf("%s delivered twice with different documents", id)
			}
		}
		delivered[id] = doc
	}
	for id := range submitted {
		if _, ok := delivered[id]; !ok {
			t.Errorf("record %s was submitted and never delivered", id)
		}
	}
	t.Logf("%d submitted before the kill, %d delivered (%d more submitted but unreported), %d duplicates",
		len(submitted), len(delivered), len(delivered)-len(submitted), dups)
}

func crashRecord(i int) Record {
	r := engineRecord(i)
	r.ID = fmt.Sprintf("e%d", i)
	r.JSON = fmt.Appendf(nil, `{"message":"crash test record %d","event":{"id":%q},"padding":"%s"}`, i, r.ID, strings.Repeat("x", i%97))
	return r
}

// crashChild logs until it is killed.
func crashChild() {
	f, err := os.OpenFile(os.Getenv(crashOutEnv), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		panic(err)
	}
	s, err := NewShipper(&crashFileSink{f: f, failEvery: 2, downFrom: 2500},
		WithBuffer(os.Getenv(crashDirEnv)),
		WithBatch(50, 1<<20, 5*time.Millisecond),
		WithRetry(resilience.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}),
		WithLogger(discardLogger()))
	if err != nil {
		panic(err)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := range 1_000_000 {
		s.submit(context.Background(), crashRecord(i))
		// Reported only once submit returned: the parent may count on it.
		fmt.Fprintf(w, "SUBMITTED e%d\n", i)
		w.Flush()
	}
	os.Exit(0)
}
