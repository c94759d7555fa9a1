package driver

import (
	"slices"
	"strings"
)

// Fold turns the names of a listing (sorted, all starting with
// opts.Prefix) into one page: with Delimiter "/", names whose part after
// the prefix contains "/" fold into their directory entry; entries not
// after opts.After are skipped. attrs gives an object's attributes. A
// backend that lists names in order (memory, a local walk) builds its
// page with it; the comparison with After is on folded names, as
// ListOptions requires.
func Fold(names []string, opts *ListOptions, attrs func(name string) *Attributes) *ListPage {
	page := &ListPage{}
	i, _ := slices.BinarySearch(names, opts.Prefix)
	for ; i < len(names) && strings.HasPrefix(names[i], opts.Prefix); i++ {
		e := ListEntry{Name: names[i]}
		if opts.Delimiter != "" {
			if j := strings.Index(names[i][len(opts.Prefix):], opts.Delimiter); j >= 0 {
				e = ListEntry{Name: names[i][:len(opts.Prefix)+j+len(opts.Delimiter)], Dir: true}
			}
		}
		if e.Name <= opts.After || (len(page.Entries) > 0 && page.Entries[len(page.Entries)-1].Name == e.Name) {
			continue
		}
		if len(page.Entries) == opts.PageSize {
			page.More = true
			break
		}
		if !e.Dir {
			e.Attributes = attrs(e.Name)
		}
		page.Entries = append(page.Entries, e)
	}
	return page
}
