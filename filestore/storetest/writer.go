package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"testing"

	"github.com/groundwork-go/groundwork/filestore"
)

// testWriter: a Writer's content is stored under its name when Close
// succeeds, replacing what was there as Put does, and not visible
// before; Close twice returns the same; a Write after Close fails.
func testWriter(t *testing.T, h Harness) {
	s := h.NewStore(t)
	put(t, s, "k", []byte("old version"), &filestore.PutOptions{ContentType: "a/b", Metadata: map[string]string{"old": "1"}})
	for _, name := range []string{"new/obj", "k"} {
		w, err := s.NewWriter(ctx, name, &filestore.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"Who": "writer"}})
		if err != nil {
			t.Fatal(err)
		}
		var want []byte
		for i := range 1000 { // small writes: the Writer buffers them
			line := []byte("line " + string(rune('a'+i%26)) + "\n")
			if n, err := w.Write(line); err != nil || n != len(line) {
				t.Fatalf("Write %d: %d %v", i, n, err)
			}
			want = append(want, line...)
		}
		if w.Info() != nil {
			t.Fatal("Info before Close")
		}
		checkUnchanged(t, s, name, "before Close")
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := w.Write([]byte("late")); !errors.Is(err, fs.ErrClosed) {
			t.Fatalf("Write after Close: %v, want fs.ErrClosed", err)
		}
		info := w.Info()
		if info == nil || info.Size != int64(len(want)) || !bytes.Equal(info.SHA256, digest(want)) {
			t.Fatalf("Info after Close: %+v", info)
		}
		if got := readAll(t, s, name); !bytes.Equal(got, want) {
			t.Fatalf("%s after Close: %d bytes, want %d", name, len(got), len(want))
		}
		st, err := s.Stat(ctx, name)
		if err != nil || st.ContentType != "text/plain" || st.Metadata["who"] != "writer" || st.Metadata["old"] != "" || !bytes.Equal(st.SHA256, digest(want)) {
			t.Fatalf("Stat %s after Close: %+v %v", name, st, err)
		}
	}
	checkNoUnfinished(t, h, s)
}

// testWriterLarge streams LargeSize bytes through io.Copy (ReadFrom),
// past any multipart threshold: nothing visible until Close.
func testWriterLarge(t *testing.T, h Harness) {
	s := h.NewStore(t)
	hsh := sha256.New()
	if _, err := io.Copy(hsh, &patternReader{n: h.LargeSize}); err != nil {
		t.Fatal(err)
	}
	want := hsh.Sum(nil)
	w, err := s.NewWriter(ctx, "big", &filestore.PutOptions{Size: h.LargeSize})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(w, &patternReader{n: h.LargeSize}); err != nil || n != h.LargeSize {
		t.Fatalf("io.Copy into the Writer: %d %v", n, err)
	}
	checkUnchanged(t, s, "big", "before Close, all written")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Stat(ctx, "big"); err != nil || st.Size != h.LargeSize || !bytes.Equal(st.SHA256, want) {
		t.Fatalf("Stat: %+v %v", st, err)
	}
	checkNoUnfinished(t, h, s)
}

// testWriterDiscards: a Writer whose ctx ends, whose Write or source
// fails, whose content is not the size or digest announced, or whose
// IfNotExist name exists, stores nothing: Close returns why, and the name
// (absent, or holding an older object) is as it was; nothing of the
// write is left in the backend.
func testWriterDiscards(t *testing.T, h Harness) {
	s := h.NewStore(t)
	put(t, s, "old", []byte("intact"), nil)
	large := h.LargeSize // past any multipart threshold: an upload under way
	for _, c := range []struct {
		name string
		// write feeds w, cancelling cancel where the case wants it, and
		// returns the error Close must match.
		write func(w *filestore.Writer, cancel context.CancelFunc) error
		opts  *filestore.PutOptions
	}{
		{"ctx cancelled after a large write", func(w *filestore.Writer, cancel context.CancelFunc) error {
			if _, err := io.Copy(w, &patternReader{n: large}); err != nil {
				t.Fatalf("io.Copy: %v", err)
			}
			cancel()
			return context.Canceled
		}, nil},
		{"ctx cancelled during a write", func(w *filestore.Writer, cancel context.CancelFunc) error {
			if _, err := w.Write([]byte("start")); err != nil {
				t.Fatal(err)
			}
			cancel()
			if _, err := io.Copy(w, &patternReader{n: large}); !errors.Is(err, context.Canceled) {
				t.Fatalf("io.Copy after the ctx ended: %v, want context.Canceled", err)
			}
			return context.Canceled
		}, nil},
		{"source fails", func(w *filestore.Writer, _ context.CancelFunc) error {
			if _, err := io.Copy(w, io.MultiReader(&patternReader{n: large}, &failingReader{})); err == nil {
				t.Fatal("io.Copy from a failing source succeeded")
			}
			return errSourceBroke
		}, nil},
		{"fewer bytes than announced", func(w *filestore.Writer, _ context.CancelFunc) error {
			_, _ = w.Write([]byte("short"))
			return filestore.ErrSizeMismatch
		}, &filestore.PutOptions{Size: 6}},
		{"more bytes than announced", func(w *filestore.Writer, _ context.CancelFunc) error {
			if _, err := w.Write([]byte("longer")); !errors.Is(err, filestore.ErrSizeMismatch) {
				t.Fatalf("Write past the announced size: %v", err)
			}
			return filestore.ErrSizeMismatch
		}, &filestore.PutOptions{Size: 5}},
		{"another digest", func(w *filestore.Writer, _ context.CancelFunc) error {
			_, _ = io.Copy(w, &patternReader{n: large})
			return filestore.ErrDigestMismatch
		}, &filestore.PutOptions{SHA256: digest([]byte("something else"))}},
		{"IfNotExist on an existing name", func(w *filestore.Writer, _ context.CancelFunc) error {
			_, _ = w.Write([]byte("replacement"))
			return fs.ErrExist
		}, &filestore.PutOptions{IfNotExist: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, name := range []string{"old", "new"} {
				wctx, cancel := context.WithCancel(ctx)
				w, err := s.NewWriter(wctx, name, c.opts)
				if err != nil {
					cancel()
					t.Fatal(err)
				}
				want := c.write(w, cancel)
				err = w.Close()
				cancel()
				if errors.Is(want, fs.ErrExist) && name == "new" {
					want = nil // IfNotExist on a free name: stored
				}
				if want == nil {
					if err != nil {
						t.Fatalf("%s: Close: %v", name, err)
					}
					if err := s.Delete(ctx, name); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if !errors.Is(err, want) {
					t.Fatalf("%s: Close: %v, want %v", name, err, want)
				}
				if errors.Is(want, context.Canceled) && err != context.Canceled {
					t.Fatalf("%s: Close: %q, want the ctx error itself, not wrapped", name, err)
				}
				if again := w.Close(); again != err {
					t.Fatalf("%s: second Close: %v, want the first's %v", name, again, err)
				}
				if w.Info() != nil {
					t.Fatalf("%s: Info of a discarded Writer: %+v", name, w.Info())
				}
				if name == "old" {
					if got := readAll(t, s, "old"); string(got) != "intact" {
						t.Fatalf("old after a discarded Writer: %q", got)
					}
				} else if _, err := s.Stat(ctx, "new"); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("new after a discarded Writer: %v, want fs.ErrNotExist", err)
				}
			}
			checkNoUnfinished(t, h, s)
		})
	}
	if _, err := s.NewWriter(ctx, "/abs", nil); !errors.Is(err, fs.ErrInvalid) {
		t.Fatalf("NewWriter of an invalid name: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.NewWriter(cancelled, "x", nil); err != context.Canceled {
		t.Fatalf("NewWriter with an ended ctx: %v", err)
	}
}

// checkUnchanged fails t unless name is as the Writer tests left it
// before Close: absent ("new/obj", "big") or the old version ("k").
func checkUnchanged(t *testing.T, s *filestore.Store, name, when string) {
	t.Helper()
	if name == "k" {
		if got := readAll(t, s, "k"); string(got) != "old version" {
			t.Fatalf("k %s: %q, want the old version", when, got)
		}
		return
	}
	if _, err := s.Stat(ctx, name); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s %s: %v, want fs.ErrNotExist", name, when, err)
	}
	for info, err := range s.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		if info.Name == name {
			t.Fatalf("%s listed %s", name, when)
		}
	}
}

// checkNoUnfinished fails t if the backend holds anything of a write
// that ended (Harness.Unfinished).
func checkNoUnfinished(t *testing.T, h Harness, s *filestore.Store) {
	t.Helper()
	if h.Unfinished == nil {
		return
	}
	if left := h.Unfinished(t, s); len(left) > 0 {
		t.Fatalf("writes that ended left %q in the backend", left)
	}
}
