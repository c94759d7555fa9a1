package localstore

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// List walks the directory tree (driver.Walk) through the root, leaving
// out .filestore. A symbolic link is listed when it leads to a regular
// file inside the root (as Open follows it); a link to a directory is not
// descended — it would list objects twice, or for ever if it leads to an
// ancestor — and one leading out of the root is no object. FIFOs,
// sockets and devices are no objects either. Directories are opened
// without blocking (openDir): one replaced by a FIFO meanwhile is passed
// by as gone.
func (b *bucket) List(_ context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	readDir := func(dir string) ([]driver.WalkEntry, error) {
		dir = strings.TrimSuffix(dir, "/")
		d, err := b.openDir(rel(path.Join(".", dir)))
		if err != nil {
			if err = b.mapErr(dir, err); errors.Is(err, fs.ErrNotExist) {
				return nil, nil // gone meanwhile
			}
			return nil, err
		}
		entries, err := d.ReadDir(-1)
		d.Close()
		if err != nil {
			return nil, err
		}
		out := make([]driver.WalkEntry, 0, len(entries))
		for _, e := range entries {
			name := path.Join(dir, e.Name())
			switch typ := e.Type(); {
			case dir == "" && strings.EqualFold(e.Name(), reserved): // the store's own files (checkName's rule)
			case typ.IsDir():
				out = append(out, driver.WalkEntry{Name: e.Name(), Dir: true})
			case typ.IsRegular():
				out = append(out, driver.WalkEntry{Name: e.Name()})
			case typ&fs.ModeSymlink != 0:
				if info, err := b.root.Stat(rel(name)); err == nil && info.Mode().IsRegular() {
					out = append(out, driver.WalkEntry{Name: e.Name()})
				}
			}
		}
		return out, nil
	}
	return driver.Walk(opts, readDir, func(name string) *driver.Attributes {
		// No checkParent: the walk met name in a real directory
		// (it descends no link), which cannot be a reserved one.
		f, info, err := b.openFile(name)
		if err != nil {
			return nil
		}
		defer f.Close()
		return b.attributes(name, f, info)
	})
}
