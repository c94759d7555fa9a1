//go:build unix

package wal

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock on the directory of root (dir
// names it in errors) so that two processes (or two WALs in one process)
// never append to the same segments.
func lockDir(root *os.Root, dir string) (*os.File, error) {
	f, err := root.OpenFile("LOCK", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s is in use by another WAL (%v)", ErrLocked, dir, err)
	}
	return f, nil
}
