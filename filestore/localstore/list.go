package localstore

import (
	"context"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/groundwork-go/groundwork/filestore/driver"
)

// List walks the tree in lexicographic order of full names — a directory
// sorts as its name plus "/", which is where its files' names fall — and
// prunes the directories that cannot hold names under the prefix or after
// opts.After.
func (b *bucket) List(_ context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	page := &driver.ListPage{}
	var walkErr error
	var walk func(dir string) bool // false: stop
	walk = func(dir string) bool {
		entries, err := os.ReadDir(b.path(strings.TrimSuffix(dir, "/")))
		if dir == "" {
			entries, err = os.ReadDir(b.root)
		}
		if err != nil {
			if !os.IsNotExist(err) {
				walkErr = err
			}
			return walkErr == nil
		}
		keys := make([]string, 0, len(entries))
		isDir := map[string]bool{}
		for _, e := range entries {
			k := dir + e.Name()
			if k == reserved {
				continue
			}
			if e.IsDir() {
				k += "/"
				isDir[k] = true
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !isDir[k] {
				if strings.HasPrefix(k, opts.Prefix) && k > opts.After && !b.add(page, opts, k) {
					return false
				}
				continue
			}
			switch {
			case !strings.HasPrefix(opts.Prefix, k) && !strings.HasPrefix(k, opts.Prefix):
				continue // neither holds the prefix nor lies under it
			case k <= opts.After && !strings.HasPrefix(opts.After, k):
				continue // everything in it comes before After
			case opts.Delimiter != "" && strings.HasPrefix(k, opts.Prefix) && len(k) > len(opts.Prefix):
				if k > opts.After && b.hasObjects(k) && !b.add(page, opts, k) {
					return false
				}
				continue
			}
			if !walk(k) {
				return false
			}
		}
		return true
	}
	walk("")
	return page, walkErr
}

// add appends name (a directory when it ends in "/") to page; false once
// the page is full, with More set.
func (b *bucket) add(page *driver.ListPage, opts *driver.ListOptions, name string) bool {
	if len(page.Entries) == opts.PageSize {
		page.More = true
		return false
	}
	e := driver.ListEntry{Name: name, Dir: strings.HasSuffix(name, "/")}
	if !e.Dir {
		info, err := os.Stat(b.path(name))
		if err != nil || !info.Mode().IsRegular() {
			return true // gone meanwhile
		}
		e.Attributes = b.attributes(name, info)
	}
	page.Entries = append(page.Entries, e)
	return true
}

// hasObjects reports whether directory dir (ending in "/") holds a file
// somewhere below it: an emptied directory a crash left behind is not
// listed.
func (b *bucket) hasObjects(dir string) bool {
	entries, err := os.ReadDir(b.path(path.Clean(dir)))
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !e.IsDir() || b.hasObjects(dir+e.Name()+"/") {
			return true
		}
	}
	return false
}
