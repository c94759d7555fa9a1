package nfsstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/go-nfs-client/nfs"
	"github.com/vmware/go-nfs-client/nfs/rpc"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/driver"
)

// Scheme is the URL scheme nfsstore registers.
const Scheme = "nfs"

func init() { filestore.Register(Scheme, nfsDriver{}) }

// Options configure New; nil means all defaults.
type Options struct {
	// UID and GID are the AUTH_SYS credentials (default 0, 0).
	UID, GID uint32
	// Timeout bounds every RPC (default 30s): a server that stops
	// answering fails the call, and the next one reconnects.
	Timeout time.Duration
}

// ErrReplaced is filestore.ErrReplaced: the object was replaced while a
// Reader was reading it (NFSv3 handles of a renamed-over file go stale);
// open it again.
var ErrReplaced = filestore.ErrReplaced

type nfsDriver struct{}

func (nfsDriver) Open(_ context.Context, u *url.URL) (driver.Bucket, error) {
	if u.Host == "" || u.Path == "" || u.Path == "/" {
		return nil, fmt.Errorf("%w: nfs URL needs a host and an export path: nfs://host/export", driver.ErrBadURL)
	}
	o := &Options{}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		var err error
		switch k {
		case "uid", "gid":
			var n uint64
			n, err = strconv.ParseUint(v, 10, 32)
			if k == "uid" {
				o.UID = uint32(n)
			} else {
				o.GID = uint32(n)
			}
		case "timeout":
			o.Timeout, err = time.ParseDuration(v)
			if err == nil && o.Timeout <= 0 {
				err = errors.New("want > 0")
			}
		default:
			return nil, fmt.Errorf("%w: unknown parameter %q (known: uid, gid, timeout)", driver.ErrBadURL, k)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: parameter %s=%q: %v", driver.ErrBadURL, k, v, err)
		}
	}
	return New(u.Hostname(), u.Path, o)
}

type bucket struct {
	host, export string
	o            Options
	auth         rpc.Auth

	// mu admits one RPC at a time: go-nfs-client takes the next reply on
	// the connection as its own.
	mu     sync.Mutex
	m      *nfs.Mount
	t      *nfs.Target
	rtPref uint32
	wtPref uint32
	closed bool // by Close: no reconnecting (a Reader still open)
}

var (
	_ driver.Bucket  = (*bucket)(nil)
	_ driver.Renamer = (*bucket)(nil)
	_ driver.Retryer = (*bucket)(nil)
)

// New returns a backend on the export at host; it connects now (to
// report a bad host or export at once) and reconnects after a failure.
func New(host, export string, opts *Options) (driver.Bucket, error) {
	o := Options{Timeout: 30 * time.Second}
	if opts != nil {
		o.UID, o.GID = opts.UID, opts.GID
		if opts.Timeout > 0 {
			o.Timeout = opts.Timeout
		}
	}
	b := &bucket{host: host, export: path.Clean(export), o: o, auth: rpc.NewAuthUnix("groundwork", o.UID, o.GID).Auth()}
	if err := b.do(context.Background(), func(*nfs.Target) error { return nil }); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *bucket) connect() error {
	m, err := nfs.DialMount(b.host)
	if err != nil {
		return fmt.Errorf("nfs: mount service on %s: %w", b.host, err)
	}
	m.SetTimeout(b.o.Timeout)
	t, err := m.Mount(b.export, b.auth)
	if err != nil {
		m.Close()
		return fmt.Errorf("nfs: mount %s:%s: %w", b.host, b.export, err)
	}
	t.SetTimeout(b.o.Timeout)
	info, err := t.FSInfo()
	if err != nil {
		t.Close()
		m.Close()
		return fmt.Errorf("nfs: fsinfo: %w", err)
	}
	b.m, b.t = m, t
	// The largest transfers the server takes (up to 1 MiB): fewer round
	// trips, and an object that fits one READ is read from one version.
	b.rtPref, b.wtPref = max(min(info.RTMax, 1<<20), 4096), max(min(info.WTMax, 1<<20), 4096)
	return nil
}

// disconnect drops the connection; with unmount, it tells the server
// first (a courtesy: NFSv3's mount list is advisory), which a failed
// connection skips rather than wait for a server that does not answer.
func (b *bucket) disconnect(unmount bool) {
	if b.t != nil {
		b.t.Close()
		if unmount {
			_ = b.m.Unmount()
		}
		b.m.Close()
		b.t, b.m = nil, nil
	}
}

// do runs fn with the connection, connecting first if needed, its RPCs
// bounded by the timeout or ctx's deadline, whichever comes first; a
// failure of the connection itself (or a call cut short) drops it, so
// that the next call reconnects. ctx's cancellation is seen between RPCs.
func (b *bucket) do(ctx context.Context, fn func(t *nfs.Target) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return filestore.ErrClosed
	}
	if b.t == nil {
		if err := b.connect(); err != nil {
			return err
		}
	}
	timeout, byCtx := b.o.Timeout, false
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout, byCtx = max(time.Until(dl), time.Millisecond), true
	}
	b.t.SetTimeout(timeout)
	err := fn(b.t)
	if connErr(err) {
		b.disconnect(false)
	}
	var ne net.Error
	switch {
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case byCtx && errors.As(err, &ne) && ne.Timeout():
		// The socket deadline, set from ctx's, can fire a hair before
		// ctx's own timer: it is ctx's deadline that passed.
		return context.DeadlineExceeded
	}
	return err
}

// connErr tells a broken connection (or an RPC that timed out) from an
// NFS error reply.
func connErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// IsRetryable: a broken connection or a timeout (the next call
// reconnects), or a server busy with its own recovery.
func (b *bucket) IsRetryable(err error) bool { return connErr(err) }

func (b *bucket) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.disconnect(true)
	return nil
}

// nfsErr is the NFS3ERR_* number of err, or 0.
func nfsErr(err error) uint32 {
	var e *nfs.Error
	if errors.As(err, &e) {
		return e.ErrorNum
	}
	return 0
}

// mapErr turns go-nfs-client's errors into the io/fs sentinels; a path
// through a file (NOTDIR) names nothing.
func mapErr(name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrNotExist), nfsErr(err) == nfs.NFS3ErrNotDir:
		return fmt.Errorf("%q: %w", name, fs.ErrNotExist)
	case errors.Is(err, os.ErrExist):
		return fmt.Errorf("%q: %w", name, fs.ErrExist)
	}
	return err
}

func newHash() hash.Hash { return sha256.New() }
