package logship

import (
	"bufio"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/groundwork-go/groundwork/filestore"
)

// maxArchiveLine bounds one line of an archive object, as read back: a
// longer one is reported as an error, not read into memory.
const maxArchiveLine = 64 << 20

// ReadArchive streams back the records of service with from ≤ @timestamp
// < to that an Archiver with prefix (WithArchivePrefix's; "logs" by
// default) wrote to store.
//
// Hour by hour, it lists the hour's objects (their names say their time
// ranges, so objects outside the range are not opened), and reads those
// that overlap, in order of their first record; within an object records
// are in time order. Objects of one hour may overlap in time (two
// Archivers in one group, a redelivery): the order across them is not
// merged. A record stored twice (a redelivery after a crash) is yielded
// once: the reader remembers the event ids of the current hour, so its
// memory grows with the number of records of one service in one hour, not
// with the range.
//
// An object that cannot be read (a truncated or corrupt gzip stream, a
// line that is not an archive line) yields an error naming the object;
// the records read from it before are already yielded, and the sequence
// goes on with the next object if the caller keeps iterating. A failed
// listing yields its error and ends the sequence.
func ReadArchive(ctx context.Context, store *filestore.Store, prefix, service string, from, to time.Time) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		if store == nil {
			yield(Record{}, fmt.Errorf("%w: ReadArchive: nil store", ErrInvalid))
			return
		}
		prefix = strings.TrimSuffix(prefix, "/")
		if prefix != "" {
			if err := filestore.ValidName(prefix); err != nil {
				yield(Record{}, fmt.Errorf("%w: ReadArchive: prefix %q: %v", ErrInvalid, prefix, err))
				return
			}
			prefix += "/"
		}
		for hour := from.UTC().Truncate(time.Hour); hour.Before(to); hour = hour.Add(time.Hour) {
			if !readArchiveHour(ctx, store, archiveHourDir(prefix, service, hour), hour, from, to, yield) {
				return
			}
		}
	}
}

// readArchiveHour yields the records of one hour's objects; false means
// stop.
func readArchiveHour(ctx context.Context, store *filestore.Store, dir string, hour, from, to time.Time, yield func(Record, error) bool) bool {
	var objs []archiveObject
	for info, err := range store.List(ctx, dir) {
		if err != nil {
			yield(Record{}, fmt.Errorf("logship: read archive: list %q: %w", dir, err))
			return false
		}
		o, ok := parseArchiveObject(info.Name, hour)
		if ok && !o.Last.Before(from) && o.First.Before(to) {
			objs = append(objs, o)
		}
	}
	slices.SortFunc(objs, func(x, y archiveObject) int {
		return cmp.Or(x.First.Compare(y.First), strings.Compare(x.Name, y.Name))
	})
	seen := map[string]struct{}{}
	for _, o := range objs {
		err := readArchiveObject(ctx, store, o.Name, func(r Record) bool {
			if r.Time.Before(from) || !r.Time.Before(to) {
				return true
			}
			if _, dup := seen[r.ID]; dup {
				return true
			}
			seen[r.ID] = struct{}{}
			return yield(r, nil)
		})
		if err == errStopped {
			return false
		}
		if err != nil && !yield(Record{}, err) {
			return false
		}
	}
	return true
}

var errStopped = errors.New("stopped")

// readArchiveObject calls each with the records of object name, in order,
// until each returns false (errStopped).
func readArchiveObject(ctx context.Context, store *filestore.Store, name string, each func(Record) bool) error {
	rd, err := store.Open(ctx, name)
	if err != nil {
		return fmt.Errorf("logship: read archive object %q: %w", name, err)
	}
	defer rd.Close()
	zr, err := gzip.NewReader(bufio.NewReader(rd))
	if err != nil {
		return fmt.Errorf("logship: read archive object %q: %w", name, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64<<10), maxArchiveLine)
	for n := 1; sc.Scan(); n++ {
		var l archiveLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			// A cut stream ends with a partial line: the stream's error
			// (an unexpected EOF) is the cause worth naming.
			if !sc.Scan() && sc.Err() != nil {
				return fmt.Errorf("logship: read archive object %q: line %d: %w", name, n, sc.Err())
			}
			return fmt.Errorf("logship: read archive object %q: line %d: %w", name, n, err)
		}
		if l.ID == "" {
			return fmt.Errorf("logship: read archive object %q: line %d: no id", name, n)
		}
		r := Record{ID: l.ID, Service: l.Service, Time: l.Time, Level: l.Level, JSON: []byte(l.Doc)}
		if !each(r) {
			return errStopped
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("logship: read archive object %q: %w", name, err)
	}
	return nil
}
