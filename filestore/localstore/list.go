package localstore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// List walks the directory tree (driver.Walk), leaving out .filestore.
func (b *bucket) List(_ context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	readDir := func(dir string) ([]driver.WalkEntry, error) {
		entries, err := os.ReadDir(b.path(strings.TrimSuffix(dir, "/")))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		out := make([]driver.WalkEntry, 0, len(entries))
		for _, e := range entries {
			if dir == "" && e.Name() == reserved {
				continue
			}
			out = append(out, driver.WalkEntry{Name: e.Name(), Dir: e.IsDir()})
		}
		return out, nil
	}
	return driver.Walk(opts, readDir, func(name string) *driver.Attributes {
		info, err := os.Stat(b.path(name))
		if err != nil || !info.Mode().IsRegular() {
			return nil
		}
		return b.attributes(name, info)
	})
}
