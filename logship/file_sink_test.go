package logship

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fileSinkClock sets the rotation clock to a fake one for the test and
// returns a function that moves it on.
func fileSinkClock(t *testing.T) (now func() time.Time, advance func(time.Duration)) {
	var mu sync.Mutex
	cur := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	now = func() time.Time { mu.Lock(); defer mu.Unlock(); return cur }
	old := fileSinkNow
	fileSinkNow = now
	t.Cleanup(func() { fileSinkNow = old })
	return now, func(d time.Duration) { mu.Lock(); cur = cur.Add(d); mu.Unlock() }
}

// fileSinkLines reads the NDJSON lines of a file, gunzipping a .gz one.
func fileSinkLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func fileSinkWrite(t *testing.T, s Sink, recs []Record) {
	t.Helper()
	res, err := s.Write(context.Background(), recs)
	if err != nil || len(res.Failures) != 0 {
		t.Fatalf("Write: %v %+v", err, res)
	}
}

func TestFileSinkAppends(t *testing.T) {
	mqfileLeakCheck(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	recs := mqfileRecords("orders", time.Now(), 5)
	s, err := NewFileSink(path, Rotation{})
	if err != nil {
		t.Fatal(err)
	}
	fileSinkWrite(t, s, recs[:3])
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// A new Sink on the same path appends.
	s = FileSink(path, Rotation{})
	fileSinkWrite(t, s, recs[3:])
	s.Close(context.Background())
	got := fileSinkLines(t, path)
	if len(got) != len(recs) {
		t.Fatalf("%d lines, want %d", len(got), len(recs))
	}
	for i, r := range recs {
		if got[i] != string(r.JSON) {
			t.Errorf("line %d: %s, want %s", i, got[i], r.JSON)
		}
	}
	// After Close: the whole batch refused for good.
	res, err := s.Write(context.Background(), recs[:2])
	if !isPermanent(err) || !errors.Is(err, ErrClosed) || len(res.Failures) != 0 {
		t.Fatalf("Write after Close: %v %+v, want a Permanent ErrClosed", err, res)
	}
}

// TestFileSinkNewline: a record whose JSON holds a newline is refused
// alone; the NDJSON stays one record a line.
func TestFileSinkNewline(t *testing.T) {
	mqfileLeakCheck(t)
	path := filepath.Join(t.TempDir(), "app.log")
	s := FileSink(path, Rotation{})
	defer s.Close(context.Background())
	recs := mqfileRecords("orders", time.Now(), 3)
	recs[1].JSON = []byte("{\"message\":\n\"two lines\"}")
	res, err := s.Write(context.Background(), recs)
	if err != nil || len(res.Failures) != 1 || res.Failures[0].Index != 1 || res.Failures[0].Retryable || !errors.Is(res.Failures[0].Err, ErrInvalid) {
		t.Fatalf("Write: %v %+v", err, res)
	}
	if got := fileSinkLines(t, path); len(got) != 2 || got[0] != string(recs[0].JSON) || got[1] != string(recs[2].JSON) {
		t.Fatalf("lines %q", got)
	}
}

// TestFileSinkBadConfig: NewFileSink returns the error; FileSink's Sink
// refuses every record with it, permanently.
func TestFileSinkBadConfig(t *testing.T) {
	mqfileLeakCheck(t)
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		path string
		rot  Rotation
	}{
		"negative MaxBytes": {filepath.Join(dir, "a.log"), Rotation{MaxBytes: -1}},
		"negative MaxAge":   {filepath.Join(dir, "a.log"), Rotation{MaxAge: -time.Second}},
		"negative Keep":     {filepath.Join(dir, "a.log"), Rotation{Keep: -2}},
		"empty path":        {"", Rotation{}},
		"a directory":       {dir + "/", Rotation{}},
		"missing directory": {filepath.Join(dir, "nope", "a.log"), Rotation{}},
	} {
		_, err := NewFileSink(tc.path, tc.rot)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		res, werr := FileSink(tc.path, tc.rot).Write(context.Background(), mqfileRecords("s", time.Now(), 2))
		if !isPermanent(werr) || werr.Error() != err.Error() || len(res.Failures) != 0 {
			t.Errorf("%s: FileSink Write: %v %+v, want the batch refused for good with %v", name, werr, res, err)
		}
	}
	if _, err := NewFileSink(filepath.Join(dir, "a.log"), Rotation{Keep: -2}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "Rotation.Keep") {
		t.Errorf("bad Keep: %v, want ErrInvalid naming Rotation.Keep", err)
	}
}

// TestFileSinkRotation: by size and by age, compressed, the oldest
// pruned beyond Keep; no record lost among the files kept.
func TestFileSinkRotation(t *testing.T) {
	mqfileLeakCheck(t)
	_, advance := fileSinkClock(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	recs := mqfileRecords("orders", time.Now(), 8)
	line := int64(len(recs[0].JSON) + 1)
	s, err := NewFileSink(path, Rotation{MaxBytes: 2 * line, MaxAge: time.Hour, Keep: 2, Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	for i := range 6 { // two a file: rotations after records 1 and 3 and 5
		fileSinkWrite(t, s, recs[i:i+1])
		advance(time.Second)
	}
	advance(time.Hour) // by age: the 3rd file, holding one record, rotates
	fileSinkWrite(t, s, recs[6:7])
	fileSinkWrite(t, s, recs[7:8])

	entries, _ := os.ReadDir(dir)
	var rotated []string
	for _, e := range entries {
		if e.Name() != "app.log" {
			rotated = append(rotated, e.Name())
		}
	}
	slices.Sort(rotated)
	// Rotations: [0 1], [2 3], [4 5]; kept: the last two, gzipped.
	if len(rotated) != 2 || !strings.HasSuffix(rotated[0], ".gz") || !strings.HasSuffix(rotated[1], ".gz") {
		t.Fatalf("rotated files %v, want two .gz", rotated)
	}
	var got []string
	for _, n := range rotated {
		got = append(got, fileSinkLines(t, filepath.Join(dir, n))...)
	}
	got = append(got, fileSinkLines(t, path)...)
	var want []string
	for _, r := range recs[2:] {
		want = append(want, string(r.JSON))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("kept lines\n%q\nwant\n%q", got, want)
	}
}

// TestFileSinkSymlinks: a link planted where a rotated file goes is not
// written through, and an active file that links outside the directory is
// refused.
func TestFileSinkSymlinks(t *testing.T) {
	mqfileLeakCheck(t)
	now, _ := fileSinkClock(t)
	dir, outside := t.TempDir(), t.TempDir()
	victim := filepath.Join(outside, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "app.log")
	rotated := filepath.Join(dir, "app.log."+now().UTC().Format(rotatedStamp))
	for _, p := range []string{rotated, rotated + ".gz"} {
		if err := os.Symlink(victim, p); err != nil {
			t.Skipf("no symlinks here: %v", err)
		}
	}
	recs := mqfileRecords("orders", time.Now(), 2)
	s, err := NewFileSink(path, Rotation{MaxBytes: 1, Compress: true})
	if err != nil {
		t.Fatal(err)
	}
	fileSinkWrite(t, s, recs[:1])
	fileSinkWrite(t, s, recs[1:]) // rotates
	s.Close(context.Background())
	if data, _ := os.ReadFile(victim); string(data) != "precious\n" {
		t.Fatalf("victim outside the directory now holds %q", data)
	}
	// Rotated after the planted names, which it takes for rotated files.
	next := filepath.Join(dir, "app.log."+now().Add(time.Nanosecond).UTC().Format(rotatedStamp))
	if got := fileSinkLines(t, next+".gz"); len(got) != 1 || got[0] != string(recs[0].JSON) {
		t.Fatalf("rotated file: %q", got)
	}
	// The active file linking outside the directory: refused by os.Root.
	evil := filepath.Join(dir, "evil.log")
	if err := os.Symlink(victim, evil); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFileSink(evil, Rotation{}); err == nil {
		t.Fatal("NewFileSink through a link outside its directory: no error")
	}
	if data, _ := os.ReadFile(victim); string(data) != "precious\n" {
		t.Fatalf("victim now holds %q", data)
	}
}

// TestFileSinkConcurrent: concurrent Writes each land whole, one record
// a line.
func TestFileSinkConcurrent(t *testing.T) {
	mqfileLeakCheck(t)
	path := filepath.Join(t.TempDir(), "app.log")
	s := FileSink(path, Rotation{MaxBytes: 4096, Keep: 100})
	recs := mqfileRecords("orders", time.Now(), 400)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(recs); i += 4 {
				if res, err := s.Write(context.Background(), recs[i:i+1]); err != nil || len(res.Failures) > 0 {
					t.Errorf("Write: %v %+v", err, res)
				}
			}
		})
	}
	wg.Wait()
	s.Close(context.Background())
	files, _ := filepath.Glob(path + "*")
	seen := map[string]bool{}
	for _, f := range files {
		for _, l := range fileSinkLines(t, f) {
			seen[l] = true
		}
	}
	for _, r := range recs {
		if !seen[string(r.JSON)] {
			t.Fatalf("record %s missing", r.ID)
		}
	}
}

// TestFileSinkMovedAway: a file renamed away (logrotate's create mode) or
// deleted by another program is noticed at the next Write, which appends
// to a new file at path; it used to go on writing to the renamed file, or
// to the deleted one, where no one would read it.
func TestFileSinkMovedAway(t *testing.T) {
	mqfileLeakCheck(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	recs := mqfileRecords("orders", time.Now(), 6)
	s, err := NewFileSink(path, Rotation{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())

	fileSinkWrite(t, s, recs[:2])
	if err := os.Rename(path, path+".1"); err != nil { // logrotate
		t.Fatal(err)
	}
	fileSinkWrite(t, s, recs[2:4])
	if got := fileSinkLines(t, path+".1"); len(got) != 2 || got[1] != string(recs[1].JSON) {
		t.Fatalf("renamed file holds %d lines, want the 2 written before the rename", len(got))
	}
	if got := fileSinkLines(t, path); len(got) != 2 || got[0] != string(recs[2].JSON) {
		t.Fatalf("%s holds %d lines after the rename, want the 2 written since", path, len(got))
	}

	if err := os.Remove(path); err != nil { // an operator's rm
		t.Fatal(err)
	}
	fileSinkWrite(t, s, recs[4:])
	if got := fileSinkLines(t, path); len(got) != 2 || got[0] != string(recs[4].JSON) {
		t.Fatalf("%s holds %d lines after the delete, want the 2 written since", path, len(got))
	}
}

// TestFileSinkThroughLink: a path that is a link to a file in the same
// directory is written through, not reopened at every Write.
func TestFileSinkThroughLink(t *testing.T) {
	mqfileLeakCheck(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "real.log")
	path := filepath.Join(dir, "app.log")
	if err := os.Symlink("real.log", path); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	s, err := NewFileSink(path, Rotation{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	fs := s.(*fileSink)
	first := fs.f
	recs := mqfileRecords("orders", time.Now(), 4)
	fileSinkWrite(t, s, recs[:2])
	fileSinkWrite(t, s, recs[2:])
	if fs.f != first {
		t.Fatal("the file was reopened although the link still leads to it")
	}
	if got := fileSinkLines(t, target); len(got) != 4 {
		t.Fatalf("%d lines in the link's target, want 4", len(got))
	}
}
