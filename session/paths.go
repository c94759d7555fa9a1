package session

import (
	"fmt"
	"path"
	"strings"
)

// pathPattern is a compiled public path pattern: its segments, the last
// of which may be "**".
type pathPattern []string

func compilePattern(p string) (pathPattern, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("%w: public path %q: want an absolute path", ErrInvalid, p)
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		if s == "**" {
			if i != len(segs)-1 {
				return nil, fmt.Errorf("%w: public path %q: ** may only be the last segment", ErrInvalid, p)
			}
			continue
		}
		if s == "." || s == ".." || (s == "" && len(segs) > 1) {
			return nil, fmt.Errorf("%w: public path %q: want a clean path", ErrInvalid, p)
		}
		if _, err := path.Match(s, ""); err != nil {
			return nil, fmt.Errorf("%w: public path %q: segment %q: %v", ErrInvalid, p, s, err)
		}
	}
	return segs, nil
}

// match reports whether the segments of a clean path match pp.
func (pp pathPattern) match(segs []string) bool {
	for i, p := range pp {
		if p == "**" {
			return true
		}
		if i >= len(segs) {
			return false
		}
		if ok, _ := path.Match(p, segs[i]); !ok {
			return false
		}
	}
	return len(segs) == len(pp)
}

// isPublic reports whether urlPath matches a public pattern. Only a path
// already in its clean form (but for one trailing slash) can be public:
// "/admin/../public/x" would clean to a public path, yet a router that does
// not clean (or matches the raw, %2F-encoded path) serves it from /admin.
func isPublic(patterns []pathPattern, urlPath string) bool {
	if len(patterns) == 0 {
		return false
	}
	clean := path.Clean("/" + urlPath)
	if clean != urlPath && clean != strings.TrimSuffix(urlPath, "/") {
		return false
	}
	segs := strings.Split(clean[1:], "/")
	for _, pp := range patterns {
		if pp.match(segs) {
			return true
		}
	}
	return false
}
