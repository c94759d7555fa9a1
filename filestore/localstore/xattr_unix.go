//go:build linux || darwin || freebsd || netbsd

package localstore

import (
	"errors"
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// inode is the file's identity within its file system.
func inode(info fs.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

func setXattr(path string, data []byte) error {
	return unix.Setxattr(path, xattrName, data, 0)
}

// getXattr reads path's attributes from its extended attribute.
func getXattr(path string) ([]byte, error) {
	buf := make([]byte, 1024)
	for {
		n, err := unix.Getxattr(path, xattrName, buf)
		if errors.Is(err, unix.ERANGE) && len(buf) < 1<<16 {
			buf = make([]byte, 4*len(buf))
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}
