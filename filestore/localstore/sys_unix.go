//go:build unix

package localstore

import (
	"os"
	"syscall"
)

// oNonblock opens a FIFO without waiting for a writer (a regular file is
// unaffected).
const oNonblock = syscall.O_NONBLOCK

// oDirectory opens a directory, and fails at once (ENOTDIR) on anything
// else: a FIFO put in its place cannot make the open wait.
const oDirectory = syscall.O_DIRECTORY | syscall.O_NONBLOCK

// syncDir fsyncs the open directory d: the entries created or renamed in
// it become durable.
func syncDir(d *os.File) error { return d.Sync() }
