package hdfsstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/colinmarc/hdfs/v2"

	"github.com/groundwork-go/groundwork/filestore"
	"github.com/groundwork-go/groundwork/filestore/driver"
)

// Scheme is the URL scheme hdfsstore registers.
const Scheme = "hdfs"

func init() { filestore.Register(Scheme, hdfsDriver{}) }

// defaultTimeout bounds each read and write on a connection of a client
// built from a URL, and each call of a FileReader or FileWriter.
const defaultTimeout = 60 * time.Second

// Options configure New; nil means all defaults.
type Options struct {
	// Replication is the replication factor of new files (default: the
	// namenode's, dfs.replication).
	Replication int
	// BlockSize is the block size of new files in bytes, a multiple of
	// 512 (default: the namenode's, dfs.blocksize).
	BlockSize int64
	// Timeout bounds each read or write of an object's data on a
	// datanode that makes no progress (default 60s); the caller's ctx
	// deadline applies when it comes first. Namenode calls are bounded
	// only by the client's connections: see Dialer.
	Timeout time.Duration
}

// ErrReplaced is filestore.ErrReplaced: the object was replaced, and its
// blocks removed, while a Reader was reading it; open it again.
var ErrReplaced = filestore.ErrReplaced

type bucket struct {
	c     *hdfs.Client
	base  string // absolute, clean
	o     Options
	owned bool // the client is ours to close

	mu       sync.Mutex
	defaults *hdfs.ServerDefaults // fetched once, when a default is needed
	closed   bool
}

var (
	_ driver.Bucket  = (*bucket)(nil)
	_ driver.Renamer = (*bucket)(nil)
	_ driver.Retryer = (*bucket)(nil)
	_ driver.Aser    = (*bucket)(nil)
)

// New returns a backend on the directory base of the cluster client talks
// to, creating base if needed. Closing the backend leaves client open:
// it is the caller's. Give client's ClientOptions NamenodeDialFunc and
// DatanodeDialFunc the Dialer, so that a server that stops answering
// fails calls instead of blocking them.
func New(ctx context.Context, client *hdfs.Client, base string, opts *Options) (driver.Bucket, error) {
	if client == nil {
		return nil, fmt.Errorf("hdfsstore: %w: nil client", fs.ErrInvalid)
	}
	if !path.IsAbs(base) || path.Clean(base) == "/" {
		return nil, fmt.Errorf("hdfsstore: %w: base %q: want an absolute directory other than /", fs.ErrInvalid, base)
	}
	if reservedBase(path.Clean(base)) {
		return nil, fmt.Errorf("hdfsstore: %w: base %q: %s", fs.ErrInvalid, base, reservedBaseMsg)
	}
	return newBucket(ctx, client, path.Clean(base), opts, false)
}

func newBucket(ctx context.Context, client *hdfs.Client, base string, opts *Options, owned bool) (*bucket, error) {
	b := &bucket{c: client, base: base, owned: owned, o: Options{Timeout: defaultTimeout}}
	if opts != nil {
		if opts.Replication < 0 {
			return nil, fmt.Errorf("hdfsstore: %w: replication %d", fs.ErrInvalid, opts.Replication)
		}
		if opts.BlockSize != 0 {
			if err := checkBlockSize(opts.BlockSize); err != nil {
				return nil, fmt.Errorf("hdfsstore: %w: %v", fs.ErrInvalid, err)
			}
		}
		if opts.Timeout < 0 {
			return nil, fmt.Errorf("hdfsstore: %w: timeout %v", fs.ErrInvalid, opts.Timeout)
		}
		b.o.Replication, b.o.BlockSize = opts.Replication, opts.BlockSize
		if opts.Timeout > 0 {
			b.o.Timeout = opts.Timeout
		}
	}
	// Make the base now: a wrong address, user or permission shows at
	// once rather than at the first Put.
	err := b.call(ctx, func() error { return mkdirAll(b.c, base) })
	if err != nil {
		return nil, fmt.Errorf("hdfs: base directory %s: %w", base, err)
	}
	return b, nil
}

// reservedBase: base (clean, absolute) is under HDFS's /.reserved, whose
// paths name inodes by id (/.reserved/.inodes/16385 is the root) or raw
// views: a way round the rule that the base is not /.
func reservedBase(base string) bool {
	return base == "/.reserved" || strings.HasPrefix(base, "/.reserved/")
}

const reservedBaseMsg = "want a directory outside /.reserved (whose paths name inodes by id, the root among them, or raw views)"

// call runs one step (a namenode call or a few) unless ctx has ended. The
// client takes no ctx: its calls are bounded by its connections (Dialer),
// and a ctx that ends meanwhile is reported instead of the step's error.
func (b *bucket) call(ctx context.Context, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return filestore.ErrClosed
	}
	err := fn()
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// deadline is the deadline of one data transfer call: Timeout from now,
// or ctx's when that comes first.
func (b *bucket) deadline(ctx context.Context) time.Time {
	t := time.Now().Add(b.o.Timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(t) {
		return dl
	}
	return t
}

// serverDefaults fetches the namenode's defaults once.
func (b *bucket) serverDefaults() (hdfs.ServerDefaults, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.defaults != nil {
		return *b.defaults, nil
	}
	d, err := b.c.ServerDefaults()
	if err != nil {
		return d, err
	}
	b.defaults = &d
	return d, nil
}

func (b *bucket) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if b.owned {
		return b.c.Close()
	}
	return nil
}

// As gives the *hdfs.Client.
func (b *bucket) As(target any) bool {
	if p, ok := target.(**hdfs.Client); ok {
		*p = b.c
		return true
	}
	return false
}

// IsRetryable: a connection that failed or timed out (the client dials
// again at the next call), a namenode in safe mode or standby, a file's
// replication not finished. A ctx that ended is the caller's answer
// (context.DeadlineExceeded would pass for a net.Error timeout).
func (b *bucket) IsRetryable(err error) bool {
	var ne net.Error
	var re hdfs.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, net.ErrClosed), errors.Is(err, hdfs.ErrReplicating):
		return true
	case errors.As(err, &re):
		switch re.Exception() {
		case "org.apache.hadoop.hdfs.server.namenode.SafeModeException", "org.apache.hadoop.ipc.StandbyException",
			"org.apache.hadoop.ipc.RetriableException", "org.apache.hadoop.hdfs.protocol.NotReplicatedYetException":
			return true
		}
	}
	return strings.Contains(fmt.Sprint(err), "no available namenodes")
}

// Exceptions the namenode answers with, besides those the client maps
// itself onto os errors.
const (
	parentNotDirException  = "org.apache.hadoop.fs.ParentNotDirectoryException"
	fileAlreadyExists      = "org.apache.hadoop.fs.FileAlreadyExistsException"
	fileNotFoundException  = "java.io.FileNotFoundException"
	alreadyBeingCreatedExc = "org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException"
	accessControlExc       = "org.apache.hadoop.security.AccessControlException"
	invalidPathException   = "org.apache.hadoop.fs.InvalidPathException"
	componentTooLongExc    = "org.apache.hadoop.hdfs.protocol.FSLimitException$PathComponentTooLongException"
	pathTooLongExc         = "org.apache.hadoop.hdfs.protocol.FSLimitException$PathTooLongException"
	illegalArgumentExc     = "org.apache.hadoop.HadoopIllegalArgumentException"
)

// refusedName: the namenode refused a name (or an argument) as such: a
// path it cannot hold (an element over
// dfs.namenode.fs-limits.max-component-length, a path too long or too
// deep), or an attribute over dfs.namenode.fs-limits.max-xattr-size
// (HadoopIllegalArgumentException, which the client turns into
// os.ErrInvalid for the calls it maps).
func refusedName(err error) bool {
	switch exception(err) {
	case invalidPathException, componentTooLongExc, pathTooLongExc, illegalArgumentExc:
		return true
	}
	return errors.Is(err, os.ErrInvalid)
}

// exception is the Java exception class of a namenode error, or "".
func exception(err error) string {
	var re hdfs.Error
	if errors.As(err, &re) {
		return re.Exception()
	}
	return ""
}

// mapErr turns the client's errors into the io/fs sentinels.
func mapErr(name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrNotExist), exception(err) == fileNotFoundException:
		return fmt.Errorf("%q: %w", name, fs.ErrNotExist)
	case errors.Is(err, os.ErrExist), exception(err) == fileAlreadyExists, exception(err) == alreadyBeingCreatedExc:
		return fmt.Errorf("%q: %w", name, fs.ErrExist)
	case exception(err) == parentNotDirException:
		return fmt.Errorf("%q: %w: a parent of it is an object (on HDFS a name cannot be a file and a directory)", name, fs.ErrExist)
	case errors.Is(err, os.ErrPermission), exception(err) == accessControlExc:
		return fmt.Errorf("%q: %w", name, fs.ErrPermission)
	case refusedName(err):
		return fmt.Errorf("%q: %w: %v", name, fs.ErrInvalid, err)
	}
	return err
}
