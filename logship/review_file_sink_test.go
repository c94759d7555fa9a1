package logship

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The wall clock steps back (an NTP correction) between rotations: the
// files rotated after the step are still the newest, so Keep prunes the
// oldest records, not the ones just rotated, and names still sort in
// rotation order. The rotated names took the clock as it was: after the
// step they sorted first, and every rotation deleted the file it had just
// made, until the clock caught up.
func TestReviewFileSinkClockStepsBack(t *testing.T) {
	mqfileLeakCheck(t)
	_, advance := fileSinkClock(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	recs := mqfileRecords("orders", time.Now(), 5)
	line := int64(len(recs[0].JSON) + 1)
	s, err := NewFileSink(path, Rotation{MaxBytes: line, Keep: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	for i := range 5 { // a record a file: each Write after the first rotates
		fileSinkWrite(t, s, recs[i:i+1])
		advance(time.Second)
		if i == 2 {
			advance(-time.Hour)
		}
	}
	entries, _ := os.ReadDir(dir)
	var rotated []string
	for _, e := range entries {
		if e.Name() != "app.log" {
			rotated = append(rotated, e.Name())
		}
	}
	slices.Sort(rotated)
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
		t.Fatalf("kept (rotated %v)\n%q\nwant\n%q", rotated, got, want)
	}
}
