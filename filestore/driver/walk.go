package driver

import (
	"slices"
	"strings"
)

// WalkEntry is one entry of a directory, for Walk.
type WalkEntry struct {
	Name string // the entry's own name, not its path
	Dir  bool
}

// Walk builds a listing page from a tree of directories, for backends that
// are file systems (local disk, NFS). readDir returns the entries of dir
// ("" for the root, else a path ending in "/"), nothing for a missing
// one; attrs gives a file's attributes, nil if it is gone meanwhile.
//
// The walk goes in lexicographic order of full names — a directory sorts
// as its name plus "/", which is where its files' names fall — and skips
// the directories that cannot hold names under opts.Prefix or after
// opts.After. With a Delimiter, a directory past the prefix is one Dir
// entry if some file lies below it (an emptied directory a crash left is
// not listed).
func Walk(opts *ListOptions, readDir func(dir string) ([]WalkEntry, error), attrs func(name string) *Attributes) (*ListPage, error) {
	w := &walker{opts: opts, readDir: readDir, attrs: attrs, page: &ListPage{}}
	_, err := w.walk("")
	return w.page, err
}

type walker struct {
	opts    *ListOptions
	readDir func(dir string) ([]WalkEntry, error)
	attrs   func(name string) *Attributes
	page    *ListPage
}

// walk lists dir; false once the page is full.
func (w *walker) walk(dir string) (bool, error) {
	entries, err := w.readDir(dir)
	if err != nil {
		return false, err
	}
	keys := make([]string, 0, len(entries))
	for _, e := range entries {
		k := dir + e.Name
		if e.Dir {
			k += "/"
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	o := w.opts
	for _, k := range keys {
		if !strings.HasSuffix(k, "/") {
			if strings.HasPrefix(k, o.Prefix) && k > o.After {
				a := w.attrs(k)
				if a == nil {
					continue // gone meanwhile
				}
				if !w.add(ListEntry{Name: k, Attributes: a}) {
					return false, nil
				}
			}
			continue
		}
		switch {
		case !strings.HasPrefix(o.Prefix, k) && !strings.HasPrefix(k, o.Prefix):
			continue // neither holds the prefix nor lies under it
		case k <= o.After && !strings.HasPrefix(o.After, k):
			continue // everything in it comes before After
		case o.Delimiter != "" && strings.HasPrefix(k, o.Prefix) && len(k) > len(o.Prefix):
			if k > o.After && w.hasFiles(k) && !w.add(ListEntry{Name: k, Dir: true}) {
				return false, nil
			}
			continue
		}
		if more, err := w.walk(k); !more || err != nil {
			return false, err
		}
	}
	return true, nil
}

// add appends e; false once the page is full, with More set.
func (w *walker) add(e ListEntry) bool {
	if len(w.page.Entries) == w.opts.PageSize {
		w.page.More = true
		return false
	}
	w.page.Entries = append(w.page.Entries, e)
	return true
}

// hasFiles reports whether a file lies somewhere below dir.
func (w *walker) hasFiles(dir string) bool {
	entries, err := w.readDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !e.Dir || w.hasFiles(dir+e.Name+"/") {
			return true
		}
	}
	return false
}
