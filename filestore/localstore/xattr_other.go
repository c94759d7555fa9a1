//go:build !(linux || darwin || freebsd || netbsd)

package localstore

import (
	"io/fs"
	"os"
)

// inode is 0 where the platform gives no file identity: attributes are
// then matched by size and modification time alone.
func inode(fs.FileInfo) uint64 { return 0 }

// hardLinks is 0 where the platform does not tell: Rename then leaves
// hard links to rename(2).
func hardLinks(fs.FileInfo) uint64 { return 0 }

// Without extended attributes the attributes file beside the tree serves.
func setXattr(*os.File, []byte) error { return errNoXattrs }

func getXattr(*os.File) ([]byte, error) { return nil, errNoXattrs }
