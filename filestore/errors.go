package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// Errors, matched with errors.Is. A missing name is fs.ErrNotExist, an
// IfNotExist Put on an existing name fs.ErrExist, a bad name or argument
// fs.ErrInvalid, so that io/fs code works unchanged.
var (
	// ErrClosed: the Store (or Service) was closed.
	ErrClosed = errors.New("filestore: closed")
	// ErrDigestMismatch: the content's SHA-256 is not the one PutOptions
	// expected; nothing was stored.
	ErrDigestMismatch = errors.New("filestore: content does not match the expected SHA-256")
	// ErrSizeMismatch: the content's length is not the one PutOptions
	// announced; nothing was stored.
	ErrSizeMismatch = errors.New("filestore: content length differs from the announced size")
	// ErrUnsupported: the backend lacks what the call needs.
	ErrUnsupported = driver.ErrUnsupported
	// ErrBadURL: the URL is malformed or has an unknown parameter.
	ErrBadURL = driver.ErrBadURL
	// ErrReplaced: a Reader's object was replaced after it was opened,
	// and a read (after a Seek, a ReadAt, or on NFS any read past the
	// first) would have mixed in the new version; open it again.
	ErrReplaced = driver.ErrReplaced
	// ErrConflict: a metadata record was not in the state a
	// compare-and-set expected (MetadataStore.UpdateFile): another
	// caller moved it first, or the move is one states never make.
	ErrConflict = errors.New("filestore: record is not in the expected state")
)

// ValidName reports whether name can name an object: a slash-separated
// relative path as io/fs.ValidPath defines it (no "." or ".." element, no
// leading or trailing or doubled slash, not empty, not "."), without NUL.
// The error wraps fs.ErrInvalid and says what is wrong.
func ValidName(name string) error {
	switch {
	case name == "" || name == ".":
		return fmt.Errorf("%w: empty name", fs.ErrInvalid)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("%w: name %q contains NUL", fs.ErrInvalid, name)
	case !fs.ValidPath(name):
		return fmt.Errorf("%w: name %q is not a slash-separated relative path (no leading, trailing or doubled /, no . or .. element)", fs.ErrInvalid, name)
	}
	return nil
}

// normalizeMetadata lower-cases keys and checks that keys and values
// travel through every backend unchanged (S3 sends them as HTTP headers).
func normalizeMetadata(m map[string]string) (map[string]string, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		lk := strings.ToLower(k)
		if lk == "" || strings.IndexFunc(lk, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		}) >= 0 {
			return nil, fmt.Errorf("%w: metadata key %q: want letters, digits, '-' and '_'", fs.ErrInvalid, k)
		}
		if strings.HasPrefix(lk, "filestore-") {
			return nil, fmt.Errorf("%w: metadata key %q: the prefix filestore- is reserved", fs.ErrInvalid, k)
		}
		if _, dup := out[lk]; dup {
			return nil, fmt.Errorf("%w: metadata keys %q collide once lower-cased", fs.ErrInvalid, k)
		}
		if !utf8.ValidString(v) {
			return nil, fmt.Errorf("%w: metadata %q: value is not UTF-8", fs.ErrInvalid, k)
		}
		out[lk] = v
	}
	return out, nil
}

// prefix starts the package's errors, once: see wrapped.
const prefix = "filestore: "

// wrapped is an error that says what failed before its cause. The
// package is named once, at the start: the cause's own "filestore: " (a
// sentinel's, as in "filestore: bad URL: ...", or an inner operation's)
// is left out, and so is a cause's leading name when what failed names
// it already (a backend's `"a.txt": file does not exist` under
// `filestore: stat "a.txt"`).
type wrapped struct {
	what string
	err  error
	// name, if set, is the object what names.
	name string
	// store: a Store's error, whose what names its operation, object and
	// scheme; the Service, which names its own, drops it (cause).
	store bool
}

func (e *wrapped) Error() string {
	msg := strings.TrimPrefix(e.err.Error(), prefix)
	if e.name != "" {
		msg = strings.TrimPrefix(msg, strconv.Quote(e.name)+": ")
	}
	return e.what + ": " + msg
}

func (e *wrapped) Unwrap() error { return e.err }

// wrapf wraps err with what failed, as format and args say.
func wrapf(err error, format string, args ...any) error {
	return &wrapped{what: fmt.Sprintf(format, args...), err: err}
}

// cause is err without the operation a Store named (its name and
// scheme), for the Service, which names its own operation and backend.
func cause(err error) error {
	if w, ok := err.(*wrapped); ok && w.store {
		return w.err
	}
	return err
}

// opError wraps err with what failed (format and args), unless the
// caller's ctx ended: that is returned as it is (context errors are never
// wrapped).
func opError(ctx context.Context, err error, format string, args ...any) error {
	if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
		return cerr
	}
	return wrapf(err, format, args...)
}
