package wal

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// crashChildEnv, set, makes TestMain run crashChild instead of the tests.
const crashChildEnv = "GROUNDWORK_WAL_CRASH_DIR"

// crashChild is the child side of TestSIGKILLMidAppend: append forever,
// acking now and then, and report each acknowledged Append and Ack on
// stdout only after it returned. The parent kills it with SIGKILL at a
// point of its choosing.
func crashChild() {
	dir := os.Getenv(crashChildEnv)
	policy, _ := strconv.Atoi(os.Getenv("GROUNDWORK_WAL_CRASH_SYNC"))
	w, err := Open(dir, &Options{SegmentBytes: 4096, Sync: SyncPolicy(policy)})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		// Sizes vary so that kills land in headers, data and rotations.
		data := fmt.Appendf(nil, "record-%d-%s", i, strings.Repeat("z", i%97))
		pos, err := w.Append(data)
		if err != nil {
			fmt.Fprintln(out, "error", err)
			out.Flush()
			os.Exit(2)
		}
		fmt.Fprintln(out, "appended", pos)
		if i%50 == 49 {
			fmt.Fprintln(out, "acking", pos-25)
			out.Flush()
			if err := w.Ack(pos - 25); err != nil {
				fmt.Fprintln(out, "error", err)
				out.Flush()
				os.Exit(2)
			}
			fmt.Fprintln(out, "acked", pos-25)
		}
		out.Flush()
	}
}

// TestSIGKILLMidAppend kills a child process that is appending, at many
// different points, and checks that the reopened WAL replays every
// acknowledged record, in order, and nothing else.
func TestSIGKILLMidAppend(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lastAppended, lastAcked, acking := int64(-1), int64(-1), int64(-1)
	for round := range 12 {
		policy := SyncPolicy(round % 3)
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, fmt.Sprintf("GROUNDWORK_WAL_CRASH_SYNC=%d", policy))
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a different number of appends each round.
		killAfter := 40 + round*37
		sc := bufio.NewScanner(stdout)
		seen := 0
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 2 {
				continue
			}
			switch f[0] {
			case "appended":
				lastAppended, _ = strconv.ParseInt(f[1], 10, 64)
				seen++
			case "acking":
				acking, _ = strconv.ParseInt(f[1], 10, 64)
			case "acked":
				lastAcked, _ = strconv.ParseInt(f[1], 10, 64)
			case "error":
				t.Fatalf("child: %s", sc.Text())
			}
			if seen == killAfter {
				// Keep reading after the kill: what the child reported
				// before it died is still in the pipe.
				_ = cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		_ = cmd.Wait()

		w, err := Open(dir, &Options{SegmentBytes: 4096})
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		var got []uint64
		err = w.Replay(func(pos uint64, data []byte) error {
			if !strings.HasPrefix(string(data), "record-") {
				return fmt.Errorf("garbage record at %d: %q", pos, data)
			}
			got = append(got, pos)
			return nil
		})
		w.Close()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(got) == 0 {
			t.Fatalf("round %d: nothing replayed; last acknowledged append %d", round, lastAppended)
		}
		// Replay starts right after the last ack, or after the one the
		// kill may have caught between persisting and reporting it.
		if start := int64(got[0]); start != lastAcked+1 && start != acking+1 {
			t.Fatalf("round %d: replay starts at %d; acked %d, acking %d", round, start, lastAcked, acking)
		}
		for i := 1; i < len(got); i++ {
			if got[i] != got[i-1]+1 {
				t.Fatalf("round %d: gap or reorder: %d after %d", round, got[i], got[i-1])
			}
		}
		if last := int64(got[len(got)-1]); last < lastAppended || last > lastAppended+1 {
			// At most the one Append in flight at the kill may be there
			// without having been reported.
			t.Fatalf("round %d: replay ends at %d, last acknowledged append was %d", round, last, lastAppended)
		}
		lastAppended = int64(got[len(got)-1])
	}
}
