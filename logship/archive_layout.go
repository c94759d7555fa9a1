package logship

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// The archive's layout in the store, under the Archiver's prefix:
//
//	<prefix>/<service>/<yyyy>/<mm>/<dd>/<hh>/<first>-<last>-<count>-<sha>.ndjson.gz
//	<prefix>/<service>/<yyyy>/<mm>/<dd>/<hh>/manifest.json
//
// <service> is escapeService's; the hour is the records' @timestamp in
// UTC; <first> and <last> are the offsets of the object's first and last
// records into the hour, in nanoseconds, 13 digits; <count> its records;
// <sha> the first 128 bits of the SHA-256 of its uncompressed content, in
// hex. The name thus says what the object holds, and the same records
// always make the same name: a listing alone is enough to read the
// archive back.
const (
	archiveExt      = ".ndjson.gz"
	archiveManifest = "manifest.json"
	archiveOffWidth = 13 // an hour is 3.6e12 ns
)

// escapeService is service as one safe path segment: letters, digits, '-'
// and '.' stay, every other byte becomes %XX (upper-case hex), and a
// leading '.' too, so that neither "." nor ".." nor a slash, a control
// character or a NUL reaches the store. The empty service is "%": no
// escaped name is that. An escaped name longer than maxServiceSegment
// (file systems refuse a name over 255 bytes) is cut, and "~" and the
// first 128 bits of the service's SHA-256 in hex added: '~' is otherwise
// escaped, so the escaping stays one-to-one and two services never share
// a directory.
func escapeService(service string) string {
	if service == "" {
		return "%"
	}
	var b strings.Builder
	for i := 0; i < len(service); i++ {
		c := service[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' && i > 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	e := b.String()
	if len(e) <= maxServiceSegment {
		return e
	}
	cut := maxServiceSegment - 33
	if i := strings.LastIndexByte(e[cut-2:cut], '%'); i >= 0 {
		cut -= 2 - i // not inside a %XX
	}
	sum := sha256.Sum256([]byte(service))
	return fmt.Sprintf("%s~%x", e[:cut], sum[:16])
}

// maxServiceSegment bounds an escaped service name, well below the 255
// bytes of a file name on common file systems.
const maxServiceSegment = 200

// archiveHourDir is the directory (with its trailing slash) of service's
// objects for the hour starting at hour.
func archiveHourDir(prefix, service string, hour time.Time) string {
	return prefix + escapeService(service) + "/" + hour.UTC().Format("2006/01/02/15") + "/"
}

// archiveObject is what an object's name says about it.
type archiveObject struct {
	Name        string
	First, Last time.Time
	Records     int
	Bytes       int64
}

// archiveObjectName is the name, in dir (of the hour starting at hour), of
// an object of count records from first to last whose content has the
// SHA-256 sum.
func archiveObjectName(dir string, hour, first, last time.Time, count int, sum []byte) string {
	return fmt.Sprintf("%s%0*d-%0*d-%d-%x%s", dir, archiveOffWidth, first.Sub(hour), archiveOffWidth, last.Sub(hour), count, sum[:16], archiveExt)
}

// parseArchiveObject reads back a name archiveObjectName made, in the hour
// starting at hour; ok is false for anything else (the manifest, a stray
// object).
func parseArchiveObject(name string, hour time.Time) (archiveObject, bool) {
	base := name[strings.LastIndexByte(name, '/')+1:]
	stem, ok := strings.CutSuffix(base, archiveExt)
	if !ok {
		return archiveObject{}, false
	}
	parts := strings.Split(stem, "-")
	if len(parts) != 4 || len(parts[0]) != archiveOffWidth || len(parts[1]) != archiveOffWidth || len(parts[3]) != 32 {
		return archiveObject{}, false
	}
	first, err1 := strconv.ParseInt(parts[0], 10, 64)
	last, err2 := strconv.ParseInt(parts[1], 10, 64)
	count, err3 := strconv.Atoi(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || first < 0 || last < first || last >= int64(time.Hour) || count < 1 {
		return archiveObject{}, false
	}
	return archiveObject{Name: name, First: hour.Add(time.Duration(first)), Last: hour.Add(time.Duration(last)), Records: count}, true
}

// archiveLine is one line of an object: the record's routing fields beside
// its ECS document, so that the reader gets the Record back whatever the
// document holds (a foreign producer's may lack event.id).
type archiveLine struct {
	ID      string          `json:"id"`
	Service string          `json:"service"`
	Time    time.Time       `json:"time"`
	Level   slog.Level      `json:"level"`
	Doc     json.RawMessage `json:"doc"`
}

// manifest is the manifest.json of one service and hour: the objects a
// listing found when it was last written, for operators and tools. The
// reader does not need it (see the package doc's # Archive).
type manifest struct {
	Service string           `json:"service"`
	Hour    time.Time        `json:"hour"`
	Records int              `json:"records"` // summed over objects: a record in two objects counts twice
	Objects []manifestObject `json:"objects"`
	Updated time.Time        `json:"updated"`
}

type manifestObject struct {
	Name    string    `json:"name"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
	Records int       `json:"records"`
	Bytes   int64     `json:"bytes"`
}
