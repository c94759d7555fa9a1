// Package driver is the backend SPI of package filestore. Application code
// never imports it; backend authors implement Driver and Bucket and
// register them with filestore.Register from an init function.
//
// Backends stay small: they move bytes and report errors. Name
// validation, SHA-256 digests, digest checks, paging into iterators, the
// io/fs view, seeking and retries are done once, in package filestore.
// Names reaching a backend are valid: slash-separated, relative, no "."
// or ".." elements, no NUL. A backend maps its errors onto fs.ErrNotExist,
// fs.ErrExist and fs.ErrInvalid (wrapped, so errors.Is matches) and never
// retries on its own. The portable layer puts the package, the operation,
// the name and the scheme before a backend's error, and drops what would
// repeat them (a leading "filestore: " of the sentinels above, a leading
// quoted name of the object the operation is on).
package driver

import (
	"context"
	"errors"
	"io"
	"net/url"
	"time"
)

// Errors a backend returns (wrapped) besides the io/fs ones.
var (
	// ErrUnsupported: the backend lacks a capability the call needs.
	ErrUnsupported = errors.New("filestore: not supported by this backend")
	// ErrBadURL: the URL is malformed or has an unknown parameter.
	ErrBadURL = errors.New("filestore: bad URL")
	// ErrReplaced: the name no longer holds the version a reader opened
	// (it was replaced); a reader never goes on with another version.
	ErrReplaced = errors.New("filestore: object replaced since it was opened")
)

// Driver opens a Bucket from a URL; it is registered under a scheme.
type Driver interface {
	Open(ctx context.Context, u *url.URL) (Bucket, error)
}

// Attributes describe a stored object.
type Attributes struct {
	Size        int64
	ModTime     time.Time
	SHA256      []byte // nil when the backend does not know it
	ContentType string
	Metadata    map[string]string
	// Version names the stored version, changing whenever the name is
	// replaced by other content (S3: the ETag); "" when the backend has
	// no such name. VersionReader reads by it.
	Version string
}

// WriterOptions configure one write.
type WriterOptions struct {
	ContentType string
	Metadata    map[string]string
	// IfNotExist: Commit fails with fs.ErrExist, and nothing changes, if
	// the name exists by then.
	IfNotExist bool
	// SHA256, when set, is the digest the content must have: a backend
	// that can send it ahead (S3) does, and the portable layer checks it.
	SHA256 []byte
	// Size is the content's length, or -1 when unknown.
	Size int64
}

// Writer receives an object's content. Nothing is visible under the name
// until Commit returns nil; after Abort, or a failed Commit, nothing is,
// and nothing of the write is left in the backend (a temporary file, a
// multipart upload). filestore.Store's Put and NewWriter are built on
// it: it is how a backend writes atomically, so every backend has one.
// The portable layer hands Write its buffer, which the backend must not
// keep once Write returns, and ends every write with Commit or Abort,
// whatever the caller's ctx did: a backend that stops when the ctx of
// NewWriter ends must still leave nothing behind.
type Writer interface {
	io.Writer
	// Commit makes the object visible under its name, atomically, with
	// sha256 (the digest of what was written) stored with it.
	Commit(sha256 []byte) error
	// Abort discards what was written. It may be called after a failed
	// Commit, and more than once.
	Abort() error
}

// Reader reads one object, or a range of it. A Reader may also implement
// io.ReaderAt and io.Seeker (offsets relative to the object's start) when
// the backend reads at offsets cheaply (a local file); it then reads the
// version it opened, or fails with ErrReplaced, never another version.
type Reader interface {
	io.ReadCloser
	// Attributes are those of the object being read.
	Attributes() *Attributes
}

// ListOptions select one page of a listing.
type ListOptions struct {
	// Prefix restricts the listing to names starting with it.
	Prefix string
	// Delimiter is "" (every name under Prefix) or "/" (names and
	// sub-"directories" directly under Prefix: a name whose part after
	// Prefix contains "/" is folded into one Dir entry ending in "/").
	Delimiter string
	// After: only names (and Dirs) lexicographically after it; "" for the
	// first page.
	After string
	// PageSize bounds the entries returned (> 0).
	PageSize int
}

// ListEntry is a name in a listing: an object, or with a Delimiter a
// directory-like prefix (Dir true, Name ending in "/", Attributes nil).
type ListEntry struct {
	Name       string
	Dir        bool
	Attributes *Attributes
}

// ListPage is one page, in lexicographic order of Name. More tells
// whether entries follow the last one.
type ListPage struct {
	Entries []ListEntry
	More    bool
}

// Bucket is one backend. Every method may be called concurrently.
type Bucket interface {
	NewWriter(ctx context.Context, name string, opts *WriterOptions) (Writer, error)
	// NewRangeReader reads length bytes from offset (length < 0: to the
	// end). An offset past the end reads nothing.
	NewRangeReader(ctx context.Context, name string, offset, length int64) (Reader, error)
	Attributes(ctx context.Context, name string) (*Attributes, error)
	List(ctx context.Context, opts *ListOptions) (*ListPage, error)
	// Delete removes name; fs.ErrNotExist if there is none.
	Delete(ctx context.Context, name string) error
	// Copy copies src to dst, attributes included, replacing dst.
	Copy(ctx context.Context, dst, src string) error
	Close() error
}

// VersionReader is a Bucket that reads a range of one version of an
// object, by Attributes.Version (S3: GetObject If-Match): ErrReplaced if
// the name holds another version by then, fs.ErrNotExist if none. The
// portable layer re-reads with it after a Seek or for ReadAt, already
// knowing the attributes, so it costs one request.
type VersionReader interface {
	NewVersionRangeReader(ctx context.Context, name, version string, offset, length int64) (io.ReadCloser, error)
}

// Renamer is a Bucket that renames atomically: dst, if it exists, is
// replaced, and readers see either the old dst or src's content.
type Renamer interface {
	Rename(ctx context.Context, from, to string) error
}

// Aser is a Bucket that exposes its native client to As.
type Aser interface {
	As(target any) bool
}

// Retryer is a Bucket that tells failures worth retrying (the network, a
// server busy) from final ones.
type Retryer interface {
	IsRetryable(err error) bool
}

// CompletedPart is a part of a native multipart upload.
type CompletedPart struct {
	Number int
	ETag   string
}

// Multiparter is a Bucket with native multipart uploads (S3): parts are
// stored by the backend and assembled into one object on Complete.
// Backends without it get parts stored as objects and composed by the
// portable layer.
type Multiparter interface {
	CreateMultipart(ctx context.Context, name string, opts *WriterOptions) (uploadID string, err error)
	// UploadPart stores part n (from 1) of size bytes read from r.
	UploadPart(ctx context.Context, name, uploadID string, n int, r io.ReadSeeker, size int64) (etag string, err error)
	CompleteMultipart(ctx context.Context, name, uploadID string, parts []CompletedPart) error
	AbortMultipart(ctx context.Context, name, uploadID string) error
}
