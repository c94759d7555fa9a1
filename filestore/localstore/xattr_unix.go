//go:build linux || darwin || freebsd || netbsd

package localstore

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// xattrName is the extended attribute that holds an object's attributes
// where the file system has them: set on the temporary file before the
// rename, it arrives with the data, in one step.
const xattrName = "user.groundwork.filestore"

// inode is the file's identity within its file system.
func inode(info fs.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// hardLinks is the file's number of hard links.
func hardLinks(info fs.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 0
}

// setXattr sets the open file's attributes by its descriptor: no path is
// resolved, so no link can redirect them.
func setXattr(f *os.File, data []byte) error {
	return withFd(f, func(fd int) error { return unix.Fsetxattr(fd, xattrName, data, 0) })
}

// getXattr reads the open file's attributes from its extended attribute.
func getXattr(f *os.File) ([]byte, error) {
	buf := make([]byte, 1024)
	for {
		var n int
		err := withFd(f, func(fd int) (err error) {
			n, err = unix.Fgetxattr(fd, xattrName, buf)
			return err
		})
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

// withFd runs fn with f's descriptor, which stays open meanwhile (f.Fd
// would also switch f to blocking mode).
func withFd(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var fnErr error
	if err := rc.Control(func(fd uintptr) { fnErr = fn(int(fd)) }); err != nil {
		return err
	}
	return fnErr
}
