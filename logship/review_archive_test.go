package logship

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReviewArchiverLongServiceNames: a service name is escaped into one
// path segment, up to three bytes per byte; a long one (or a
// non-ASCII one of 86 characters) made a segment longer than a file
// system allows (255 bytes): every Put failed, the messages were
// redelivered until dead-lettered, and nothing of the service was ever
// archived.
func TestReviewArchiverLongServiceNames(t *testing.T) {
	mqfileLeakCheck(t)
	long := []string{strings.Repeat("s", 300), strings.Repeat("服", 100), strings.Repeat("s", 300) + "x"}
	for _, svc := range long {
		for _, seg := range strings.Split(archiveHourDir("logs/", svc, time.Now()), "/") {
			if len(seg) > 255 {
				t.Fatalf("a path segment of %d bytes for a service of %d", len(seg), len(svc))
			}
		}
	}
	if escapeService(long[0]) == escapeService(long[2]) {
		t.Fatal("two long names share a directory")
	}
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	store := archiveOpenStore(t, "file://"+filepath.ToSlash(dir))
	c := archiveOpenBroker(t, "mem://review-long-names")
	a, err := NewArchiver(c, "logs", "archive", store, WithArchiveFlush(100, 1<<20, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background())
	start := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	var all []Record
	for i, svc := range long {
		r := mqfileRecords("x", start, 1)[0]
		r.Service, r.ID = svc, fmt.Sprintf("long-%d", i)
		all = append(all, r)
	}
	archivePublish(t, c, all)
	for _, r := range all {
		archiveCheck(t, archiveWaitFor(t, store, "logs", r.Service, start, start.Add(time.Hour), 1), []Record{r})
	}
}
