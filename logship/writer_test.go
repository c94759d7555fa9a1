package logship

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func TestWriterLines(t *testing.T) {
	s, sink := frontShipper(t)
	w := s.Writer("legacy")
	lg := log.New(w, "", 0)
	lg.Print("plain line")
	lg.Print("ERROR: disk full")
	lg.Print("level=warn msg=slow")
	lg.Print("[debug] hidden below info")
	lg.Print("errors were fixed")
	io.WriteString(w, "part one, ")
	io.WriteString(w, "part two\r\nnext to a@b.example\nleft over")
	w.(io.Closer).Close()
	var got []string
	for _, r := range sink.all() {
		d := frontDoc(t, r)
		if r.Service != "legacy" || d["service.name"] != "legacy" {
			t.Fatalf("service %q", r.Service)
		}
		got = append(got, fmt.Sprintf("%s|%s", d["log.level"], d["message"]))
	}
	want := []string{"info|plain line", "error|ERROR: disk full", "warn|level=warn msg=slow", "info|errors were fixed",
		"info|part one, part two", "info|next to [REDACTED]", "info|left over"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestWriterLongLineBounded(t *testing.T) {
	s, sink := frontShipper(t)
	w := s.Writer("svc")
	long := strings.Repeat("x", 2*maxLineBytes+10)
	for i := 0; i < len(long); i += 1000 {
		io.WriteString(w, long[i:min(i+1000, len(long))])
	}
	io.WriteString(w, "\n")
	var total int
	for _, r := range sink.all() {
		m := frontDoc(t, r)["message"].(string)
		if len(m) > maxLineBytes {
			t.Fatalf("a record of %d bytes", len(m))
		}
		total += len(m)
	}
	if total != len(long) || len(sink.all()) != 3 || s.front.split.Load() != 2 {
		t.Fatalf("%d bytes in %d records, %d splits", total, len(sink.all()), s.front.split.Load())
	}
	if lw := w.(*lineWriter); cap(lw.buf) > 2*maxLineBytes {
		t.Fatalf("buffer grew to %d", cap(lw.buf))
	}
}

func TestWriterConcurrent(t *testing.T) {
	s, sink := frontShipper(t)
	w := s.Writer("svc")
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				fmt.Fprintf(w, "g%d line %d\n", g, i)
			}
		}()
	}
	wg.Wait()
	if n := len(sink.all()); n != 400 {
		t.Fatalf("%d records", n)
	}
}

func TestLineLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"level=error x": slog.LevelError, `level="WARN" x`: slog.LevelWarn, "[error] x": slog.LevelError, "  FATAL x": slog.LevelError,
		"warning: x": slog.LevelWarn, "DEBUG x": slog.LevelDebug, "errors x": slog.LevelInfo, "": slog.LevelInfo, "[": slog.LevelInfo, "level=": slog.LevelInfo,
	} {
		if got := lineLevel(in); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
}
