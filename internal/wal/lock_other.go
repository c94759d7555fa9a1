//go:build !unix

package wal

import "os"

// lockDir on systems without flock only creates the lock file; the caller
// must make sure one directory has one writer.
func lockDir(dir string) (*os.File, error) {
	return os.OpenFile(dir+"/LOCK", os.O_CREATE|os.O_RDWR, 0o600)
}
