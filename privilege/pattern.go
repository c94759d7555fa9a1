package privilege

import (
	"fmt"
	"strings"
)

// Patterns name resources, actions and subjects the way casbin's keyMatch
// does: a pattern without "*" is exact; a pattern ending in "*" matches
// every value that starts with what precedes the star ("orders/*" matches
// "orders/1" and "orders/1/lines", not "orders"); "*" alone matches all.
// A star anywhere else is rejected, so a pattern is always an exact value
// or a prefix — which is what lets the engine index policies by it.

// matchPattern reports whether value matches pattern.
func matchPattern(pattern, value string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(value, prefix)
	}
	return pattern == value
}

// matchAny reports whether value matches one of patterns; an empty list
// matches everything.
func matchAny(patterns []string, value string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if matchPattern(p, value) {
			return true
		}
	}
	return false
}

// checkPattern rejects an empty pattern and a star that is not last.
func checkPattern(field, p string) error {
	if p == "" {
		return fmt.Errorf("%w: %s: empty pattern", ErrInvalid, field)
	}
	if i := strings.IndexByte(p, '*'); i >= 0 && i != len(p)-1 {
		return fmt.Errorf("%w: %s: pattern %q: \"*\" is allowed only at the end", ErrInvalid, field, p)
	}
	return nil
}

// patternsOverlap reports whether some value matches both a and b.
func patternsOverlap(a, b string) bool {
	pa, wa := strings.CutSuffix(a, "*")
	pb, wb := strings.CutSuffix(b, "*")
	switch {
	case wa && wb:
		return strings.HasPrefix(pa, pb) || strings.HasPrefix(pb, pa)
	case wa:
		return strings.HasPrefix(b, pa)
	case wb:
		return strings.HasPrefix(a, pb)
	default:
		return a == b
	}
}

// listsOverlap is patternsOverlap over two target lists (empty = any).
func listsOverlap(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return true
	}
	for _, x := range a {
		for _, y := range b {
			if patternsOverlap(x, y) {
				return true
			}
		}
	}
	return false
}
