//go:build !unix

package wal

import (
	"fmt"
	"os"
)

// lockDir on systems without flock only creates the lock file; the caller
// must make sure one directory has one writer.
func lockDir(root *os.Root, _ string) (*os.File, error) {
	f, err := root.OpenFile("LOCK", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	return f, nil
}
