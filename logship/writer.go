package logship

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"
)

// maxLineBytes caps a line a Writer buffers: a longer line is shipped in
// pieces of this size, so memory stays bounded whatever is written.
const maxLineBytes = 64 << 10

// Writer returns an io.Writer that ships each line written to it as one
// record of service (log.Logger output, another library's logger, a
// subprocess's stderr): lines end at '\n' (a trailing '\r' is removed); a
// partial line waits for the rest, up to 64 KiB, beyond which it is
// shipped in pieces of at most 64 KiB, cut at a blank of the last KiB
// where there is one (so that a secret is not cut in two halves that
// redaction does not recognise), else between two characters. The level is info unless the line's first
// word names one — "level=error", "[error]", "error:" or "ERROR", any
// case, for debug, info, warn/warning, error, and fatal/panic/critical
// (as error); a log.Logger date prefix hides it, so give such loggers
// log.Lmsgprefix or no flags. The usual redaction (DefaultRules) applies.
// The Writer is safe for concurrent use. Write fails only once the
// Shipper is shut down: it then takes nothing and returns an error
// wrapping ErrClosed (a log.Logger's Output returns it), where it would
// otherwise drop the lines unseen; a Write racing Shutdown may still
// return nil with its lines dropped, counted as closed. Its Close method
// (io.Closer) ships a pending partial line; Shutdown does not see a
// Writer's partial line, so close Writers first.
func (s *Shipper) Writer(service string) io.Writer {
	return s.LineWriter(&HandlerOptions{Service: service, Redact: DefaultRules()})
}

// LineWriter is Writer with the options of a Handler (redaction,
// sampling, environment…).
func (s *Shipper) LineWriter(opts *HandlerOptions) io.WriteCloser {
	return &lineWriter{s: s, h: s.Handler(opts).(*handler)}
}

type lineWriter struct {
	s   *Shipper
	h   *handler
	mu  sync.Mutex
	buf []byte
}

// Write ships every complete line of p and keeps the rest.
func (w *lineWriter) Write(p []byte) (int, error) {
	if w.s.closed.Load() {
		return 0, fmt.Errorf("logship: Writer: %w", ErrClosed)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if len(w.buf) == 0 && i >= 0 && i <= maxLineBytes {
			w.line(p[:i]) // no copy: the line is encoded before Write returns
			p = p[i+1:]
			continue
		}
		end := len(p) // of the line's part in p
		if i >= 0 {
			end = i
		}
		if room := maxLineBytes - len(w.buf); end > room {
			// Longer than the cap, whether it ends in p or not: a piece.
			w.buf = append(w.buf, p[:room]...)
			p = p[room:]
			w.h.c.front.split.Add(1)
			w.flushPiece()
			continue
		}
		w.buf = append(w.buf, p[:end]...)
		p = p[end:]
		if i >= 0 {
			w.flush()
			p = p[1:]
		}
	}
	return n, nil
}

// Close ships the pending partial line, if any; after the Shipper's
// Shutdown such a line cannot be shipped, and Close says so (ErrClosed).
func (w *lineWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) == 0 {
		return nil
	}
	closed, n := w.s.closed.Load(), len(w.buf)
	w.flush() // after Shutdown, dropped and counted as closed by submit
	if closed {
		return fmt.Errorf("logship: Writer: close: a partial line of %d bytes not shipped: %w", n, ErrClosed)
	}
	return nil
}

// flushPiece ships a piece of a line too long for one record, cut where
// pieceEnd says; the rest stays, to begin the next piece.
func (w *lineWriter) flushPiece() {
	cut := pieceEnd(w.buf)
	w.line(w.buf[:cut])
	w.buf = w.buf[:copy(w.buf, w.buf[cut:])]
}

// pieceLookback is how far back from the cap pieceEnd looks for a blank.
const pieceLookback = 1 << 10

// pieceEnd is where to cut b, a line at the cap: after its last blank
// within pieceLookback bytes that is not inside a likely secret (between
// a card number's digit groups, after "Bearer"), so that a secret
// straddling the cap — which redaction recognises only whole — goes whole
// into the next piece; with no such blank, at the last character
// boundary, never inside a UTF-8 sequence.
func pieceEnd(b []byte) int {
	for i := len(b) - 1; i > 0 && i >= len(b)-pieceLookback; i-- {
		if b[i] != ' ' && b[i] != '\t' {
			continue
		}
		next := byte('0') // past the end: unknown, maybe a digit
		if i+1 < len(b) {
			next = b[i+1]
		}
		if isDigit(b[i-1]) && isDigit(next) || i >= 6 && hasFoldAt(unsafe.String(&b[i-6], 6), 0, "bearer") {
			continue
		}
		return i + 1
	}
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return max(i, 1) // a cut character; never an empty piece
			}
			break
		}
	}
	return len(b)
}

func (w *lineWriter) flush() {
	w.line(w.buf)
	w.buf = w.buf[:0]
}

func (w *lineWriter) line(l []byte) {
	l = bytes.TrimSuffix(l, []byte{'\r'})
	if len(l) == 0 {
		return
	}
	msg := unsafe.String(unsafe.SliceData(l), len(l)) // encoded, not kept
	level := lineLevel(msg)
	ctx := context.Background()
	if !w.h.Enabled(ctx, level) {
		return
	}
	_ = w.h.Handle(ctx, slog.NewRecord(time.Now(), level, msg, 0))
}

// lineLevel reads the level a line's first word names; info otherwise.
func lineLevel(s string) slog.Level {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	s = s[i:]
	switch {
	case hasFoldAt(s, 0, "level="):
		s = s[len("level="):]
		if len(s) > 0 && s[0] == '"' {
			s = s[1:]
		}
	case len(s) > 0 && s[0] == '[':
		s = s[1:]
	}
	word := 0
	for word < len(s) && ('a' <= s[word] && s[word] <= 'z' || 'A' <= s[word] && s[word] <= 'Z') {
		word++
	}
	// The word must end there: "errors were fixed" is not an error line.
	if word < len(s) && strchr(" \t:]\"|", s[word]) < 0 {
		return slog.LevelInfo
	}
	w := s[:word]
	is := func(names ...string) bool {
		for _, n := range names {
			if len(w) == len(n) && hasFoldAt(w, 0, n) {
				return true
			}
		}
		return false
	}
	switch {
	case is("debug", "trace"):
		return slog.LevelDebug
	case is("warn", "warning"):
		return slog.LevelWarn
	case is("error", "err", "fatal", "panic", "critical", "crit"):
		return slog.LevelError
	}
	return slog.LevelInfo
}

func strchr(set string, c byte) int {
	for i := 0; i < len(set); i++ {
		if set[i] == c {
			return i
		}
	}
	return -1
}
