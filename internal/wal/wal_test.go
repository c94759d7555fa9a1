package wal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		crashChild() // re-executed by TestSIGKILLMidAppend; never returns
	}
	goleak.VerifyTestMain(m)
}

func open(t *testing.T, dir string, o *Options) *WAL {
	t.Helper()
	w, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

type rec struct {
	pos  uint64
	data string
}

func replayAll(t *testing.T, w *WAL) []rec {
	t.Helper()
	var out []rec
	if err := w.Replay(func(pos uint64, data []byte) error {
		out = append(out, rec{pos, string(data)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	sort.Strings(m)
	return m
}

func appendN(t *testing.T, w *WAL, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		pos, err := w.Append(fmt.Appendf(nil, "record-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if pos != uint64(i) {
			t.Fatalf("append %d got position %d", i, pos)
		}
	}
}

func wantRecords(t *testing.T, got []rec, from, to int) {
	t.Helper()
	if len(got) != to-from {
		t.Fatalf("got %d records, want %d (positions %d..%d)", len(got), to-from, from, to-1)
	}
	for i, r := range got {
		want := fmt.Sprintf("record-%d", from+i)
		if r.pos != uint64(from+i) || r.data != want {
			t.Fatalf("record %d = %d %q, want %d %q", i, r.pos, r.data, from+i, want)
		}
	}
}

func TestAppendReplayAckAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	w := open(t, dir, &Options{SegmentBytes: 256})
	appendN(t, w, 0, 100)
	if n := len(segFiles(t, dir)); n < 5 {
		t.Fatalf("%d segments, want rotation to have made several", n)
	}
	wantRecords(t, replayAll(t, w), 0, 100)
	before := len(segFiles(t, dir))
	if err := w.Ack(59); err != nil {
		t.Fatal(err)
	}
	if after := len(segFiles(t, dir)); after >= before {
		t.Fatalf("ack reclaimed nothing: %d segments before, %d after", before, after)
	}
	wantRecords(t, replayAll(t, w), 60, 100)
	if w.Len() != 40 {
		t.Fatalf("Len %d, want 40", w.Len())
	}
	if err := w.Ack(99); err != nil {
		t.Fatal(err)
	}
	if n := len(segFiles(t, dir)); n != 0 {
		t.Fatalf("everything acknowledged but %d segments remain", n)
	}
	if err := w.Ack(100); err == nil {
		t.Fatal("ack past the end must fail")
	}
	appendN(t, w, 100, 3)
	wantRecords(t, replayAll(t, w), 100, 103)
}

func TestReopenKeepsPositionsAndAcks(t *testing.T) {
	dir := t.TempDir()
	w, err := Open(dir, &Options{SegmentBytes: 200})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, w, 0, 50)
	if err := w.Ack(19); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w = open(t, dir, &Options{SegmentBytes: 200})
	wantRecords(t, replayAll(t, w), 20, 50)
	appendN(t, w, 50, 5)
	wantRecords(t, replayAll(t, w), 20, 55)
}

func TestReplayStopsAndResumes(t *testing.T) {
	w := open(t, t.TempDir(), &Options{SegmentBytes: 300})
	appendN(t, w, 0, 40)
	for from := 0; from < 40; from += 7 {
		var got []rec
		err := w.Replay(func(pos uint64, data []byte) error {
			got = append(got, rec{pos, string(data)})
			if len(got) == 7 {
				return ErrStop
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		wantRecords(t, got, from, min(from+7, 40))
		if err := w.Ack(got[len(got)-1].pos); err != nil {
			t.Fatal(err)
		}
	}
	if w.Len() != 0 {
		t.Fatalf("Len %d after acking everything", w.Len())
	}
	boom := errors.New("boom")
	appendN(t, w, 40, 2)
	if err := w.Replay(func(uint64, []byte) error { return boom }); err != boom {
		t.Fatalf("Replay returned %v, want the callback's error", err)
	}
}

func lastSegment(t *testing.T, dir string) string {
	files := segFiles(t, dir)
	if len(files) == 0 {
		t.Fatal("no segments")
	}
	return files[len(files)-1]
}

func TestTornTailIsCut(t *testing.T) {
	dir := t.TempDir()
	w, _ := Open(dir, nil)
	appendN(t, w, 0, 10)
	w.Close()
	seg := lastSegment(t, dir)
	info, _ := os.Stat(seg)
	// Cut the last record in the middle of its data.
	if err := os.Truncate(seg, info.Size()-3); err != nil {
		t.Fatal(err)
	}
	w = open(t, dir, nil)
	wantRecords(t, replayAll(t, w), 0, 9)
	appendN(t, w, 9, 2) // positions continue where the good records end
	wantRecords(t, replayAll(t, w), 0, 11)
}

func TestTornHeaderIsCut(t *testing.T) {
	dir := t.TempDir()
	w, _ := Open(dir, nil)
	appendN(t, w, 0, 5)
	w.Close()
	f, _ := os.OpenFile(lastSegment(t, dir), os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{9, 0, 0}) // three bytes of a header that never finished
	f.Close()
	w = open(t, dir, nil)
	wantRecords(t, replayAll(t, w), 0, 5)
}

func TestFlippedTailIsCutNotReplayed(t *testing.T) {
	for _, at := range []string{"length", "checksum", "data"} {
		t.Run(at, func(t *testing.T) {
			dir := t.TempDir()
			w, _ := Open(dir, nil)
			appendN(t, w, 0, 6)
			w.Close()
			seg := lastSegment(t, dir)
			b, _ := os.ReadFile(seg)
			last := len(b) - (recHeaderSize + len("record-5"))
			switch at {
			case "length":
				b[last] ^= 0x01
			case "checksum":
				b[last+5] ^= 0x80
			case "data":
				b[len(b)-1] ^= 0xff
			}
			os.WriteFile(seg, b, 0o600)
			w = open(t, dir, nil)
			wantRecords(t, replayAll(t, w), 0, 5)
		})
	}
}

func TestDamageInSealedSegmentIsReported(t *testing.T) {
	dir := t.TempDir()
	w, _ := Open(dir, &Options{SegmentBytes: 128})
	appendN(t, w, 0, 30)
	w.Close()
	first := segFiles(t, dir)[0]
	b, _ := os.ReadFile(first)
	b[segHeaderSize+recHeaderSize] ^= 0xff
	os.WriteFile(first, b, 0o600)
	w = open(t, dir, &Options{SegmentBytes: 128})
	err := w.Replay(func(uint64, []byte) error { return nil })
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Replay over a damaged sealed segment returned %v, want ErrCorrupt", err)
	}
}

func TestFull(t *testing.T) {
	w := open(t, t.TempDir(), &Options{MaxBytes: 200})
	var err error
	n := 0
	for ; n < 100; n++ {
		if _, err = w.Append(bytes.Repeat([]byte("x"), 20)); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrFull) || n == 0 {
		t.Fatalf("after %d appends got %v, want ErrFull", n, err)
	}
	if err := w.Ack(uint64(n - 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append([]byte("room again")); err != nil {
		t.Fatalf("after acking everything: %v", err)
	}
}

func TestLockedAndClosed(t *testing.T) {
	dir := t.TempDir()
	w := open(t, dir, nil)
	if _, err := Open(dir, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open of one dir: %v, want ErrLocked", err)
	}
	w.Close()
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := w.Append(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if err := w.Replay(func(uint64, []byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Replay after Close: %v", err)
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{{SegmentBytes: -1}, {Sync: 7}, {SyncInterval: -1}} {
		if _, err := Open(t.TempDir(), &o); err == nil {
			t.Errorf("%+v: want an error", o)
		}
	}
}

func TestConcurrentAppendsAllReplayed(t *testing.T) {
	for _, policy := range []SyncPolicy{SyncAlways, SyncInterval, SyncNever} {
		w := open(t, t.TempDir(), &Options{SegmentBytes: 1024, Sync: policy})
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 50 {
					if _, err := w.Append(fmt.Appendf(nil, "%d-%d", g, i)); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		seen := map[string]bool{}
		next := map[byte]int{}
		for _, r := range replayAll(t, w) {
			seen[r.data] = true
			var g, i int
			fmt.Sscanf(r.data, "%d-%d", &g, &i)
			if i != next[byte(g)] {
				t.Fatalf("writer %d: record %d after %d", g, i, next[byte(g)]-1)
			}
			next[byte(g)]++
		}
		if len(seen) != 200 {
			t.Fatalf("policy %d: replayed %d distinct records, want 200", policy, len(seen))
		}
		w.Close()
	}
}

// TestSmallCapCountsOnlyWhatIsNotReclaimable: with a cap below the old
// fixed 8 MiB segment, a reader that keeps one record behind the writer
// must never see ErrFull: acknowledged records may not fill the cap.
func TestSmallCapCountsOnlyWhatIsNotReclaimable(t *testing.T) {
	const cap = 4096
	dir := t.TempDir()
	w := open(t, dir, &Options{MaxBytes: cap})
	rec := bytes.Repeat([]byte("r"), 100)
	for i := range 2000 {
		if _, err := w.Append(rec); err != nil {
			t.Fatalf("append %d with only record %d unacknowledged: %v (%d bytes held)", i, i-1, err, w.Size())
		}
		if i > 0 {
			if err := w.Ack(uint64(i - 1)); err != nil {
				t.Fatal(err)
			}
		}
		if w.Size() > cap {
			t.Fatalf("append %d: %d bytes held, over the %d cap", i, w.Size(), cap)
		}
	}
	if w.Len() != 1 {
		t.Fatalf("Len %d, want the one record not acknowledged", w.Len())
	}
}

// TestLinkOutOfTheDirectoryIsNotFollowed: the WAL reaches its files only
// through an os.Root, so a segment that is a symbolic link to a file
// outside the directory is an error, not a file read or truncated.
func TestLinkOutOfTheDirectoryIsNotFollowed(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	target := filepath.Join(outside, "victim")
	if err := os.WriteFile(target, append(encodeSegmentHeader(0), "precious"...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, segmentName(0))); err != nil {
		t.Skipf("cannot make a symbolic link here: %v", err)
	}
	if w, err := Open(dir, nil); err == nil {
		w.Close()
		t.Fatal("Open followed a segment link out of its directory")
	}
	if b, _ := os.ReadFile(target); !bytes.HasSuffix(b, []byte("precious")) {
		t.Fatalf("the file outside was changed: %q", b)
	}
}

// TestOpenInStaysInsideParent: OpenIn creates and opens a WAL below a
// root, and refuses a link in its place that leads outside.
func TestOpenInStaysInsideParent(t *testing.T) {
	parent, outside := t.TempDir(), t.TempDir()
	root, err := os.OpenRoot(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	w, err := OpenIn(root, "sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, w, 0, 3)
	w.Close()
	w, err = OpenIn(root, "sub", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantRecords(t, replayAll(t, w), 0, 3)
	w.Close()
	if err := os.Symlink(outside, filepath.Join(parent, "link")); err != nil {
		t.Skipf("cannot make a symbolic link here: %v", err)
	}
	if w, err := OpenIn(root, "link", nil); err == nil {
		w.Close()
		t.Fatal("OpenIn followed a link out of its parent")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("OpenIn wrote outside its parent: %v", entries)
	}
}
