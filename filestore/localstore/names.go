package localstore

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
)

// rel is the path of the object name relative to the root.
func rel(name string) string { return filepath.FromSlash(name) }

// checkName refuses the names this platform cannot store safely: see
// checkNameFor.
func checkName(name string) error { return checkNameFor(name, runtime.GOOS == "windows") }

// checkNameFor refuses a name under the reserved directory, and on
// Windows (windows true) a name that Windows would read otherwise than the
// portable layer does. It is a pure function of the platform's rules, so
// that the rules of every platform are tested on any.
//
// The first element is compared without regard to case: on a
// case-insensitive file system (Windows, macOS by default) ".FILESTORE" is
// the reserved directory. On Windows "\" separates elements too (so
// `.filestore\tmp\x` would reach it), ":" names a drive or an alternate
// data stream, and a trailing dot or space is dropped from an element
// (".filestore." is ".filestore").
func checkNameFor(name string, windows bool) error {
	if windows && strings.ContainsAny(name, `\:`) {
		return fmt.Errorf(`%w: name %q: "\" and ":" are not allowed on Windows (a separator; a drive or a data stream)`, fs.ErrInvalid, name)
	}
	first, _, _ := strings.Cut(name, "/")
	if windows {
		first = strings.TrimRight(first, ". ")
	}
	if strings.EqualFold(first, reserved) {
		return fmt.Errorf("%w: name %q: names under %s/ are reserved", fs.ErrInvalid, name, reserved)
	}
	return nil
}

// checkNames checks name itself, and the directory it resolves to.
func (b *bucket) checkNames(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return b.checkParent(name)
}

// checkParent refuses a name whose directory, once the root resolves the
// symbolic links on its path, is the reserved directory or its tmp or
// attrs: a link such as "x -> .filestore", planted by a program that
// writes the tree, must not let names like "x/tmp/..." reach the store's
// own files. Errors resolving the directory are left to the call itself.
func (b *bucket) checkParent(name string) error {
	dir := path.Dir(name)
	if dir == "." {
		return nil // the root: not reserved
	}
	info, err := b.root.Stat(rel(dir))
	if err != nil || !b.isReserved(info) {
		return nil
	}
	return reservedErr(name)
}

// isReserved reports whether the directory info describes is the
// reserved directory or one of its subdirectories.
func (b *bucket) isReserved(info fs.FileInfo) bool {
	for _, r := range *b.reservedDirs.Load() {
		if os.SameFile(info, r) {
			return true
		}
	}
	return false
}

func reservedErr(name string) error {
	return fmt.Errorf("%q: %w: a symbolic link on its path leads into the store's reserved directory %s", name, fs.ErrPermission, reserved)
}
