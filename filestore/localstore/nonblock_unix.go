//go:build unix

package localstore

import "syscall"

// oNonblock opens a FIFO without waiting for a writer (a regular file is
// unaffected).
const oNonblock = syscall.O_NONBLOCK
