package logship

import (
	"fmt"
	"regexp"
	"strings"
)

// DefaultReplacement replaces what a Rule redacts unless it names its own.
const DefaultReplacement = "[REDACTED]"

// Rule is one redaction rule of HandlerOptions.Redact. A rule selects
// attributes by name (Keys, KeyMatch), text by content (Match, Pattern),
// or both, and says what becomes of what it selected:
//
//   - by name only: the attribute's whole value is replaced by
//     Replacement, or the attribute dropped (Drop), or its value replaced
//     by a keyed pseudonym (Pseudonym);
//   - by content: every match inside a string value — and inside the
//     message, when the rule names no attributes — is replaced by
//     Replacement, the text around it kept;
//   - both: content rules applied only to the named attributes.
//
// Name rules also apply to the keys inside a map or struct attribute's
// JSON ({"password": …} in logged headers or a config struct), at any
// depth; such a value is then re-encoded, its keys sorted. A []byte
// attribute (base64 otherwise) in which a content rule finds a secret is
// written as redacted text.
//
// The built-in rules (EmailRule, CardRule, TokenRule, SecretKeyRule,
// IPRule) are Rules like any other; DefaultRules returns the usual set.
type Rule struct {
	// Name names the rule in error messages.
	Name string
	// Keys are attribute names the rule applies to, compared without
	// case with the attribute's own key (not its group path).
	Keys []string
	// KeyMatch, when set, selects attributes by a predicate on their key,
	// in addition to Keys. It must depend on the key alone: a Handler
	// remembers its answer for a key it sees again.
	KeyMatch func(key string) bool
	// Match finds the first secret in s: its byte offsets, or start < 0
	// when s holds none. It is called on every string value the rule
	// covers, so it should reject a string that cannot match cheaply
	// (see CardRule).
	Match func(s string) (start, end int)
	// Pattern, when set, finds secrets with a regular expression, like
	// Match (Go regexp: linear time, but costlier than a hand-written
	// Match on the hot path).
	Pattern *regexp.Regexp
	// Replacement replaces what the rule selects; "" means
	// DefaultReplacement.
	Replacement string
	// Drop removes the selected attributes instead (name rules only).
	Drop bool
	// Pseudonym replaces the selected attributes' values by a keyed
	// pseudonym instead (name rules only); see Pseudonymizer.
	Pseudonym *Pseudonymizer

	need uint8 // built-in detectors: the bytes a match needs (prefilter)
}

func (r *Rule) byName() bool    { return len(r.Keys) > 0 || r.KeyMatch != nil }
func (r *Rule) byContent() bool { return r.Match != nil || r.Pattern != nil }

func (r *Rule) validate(i int) error {
	name := r.Name
	if name == "" {
		name = fmt.Sprintf("Redact[%d]", i)
	}
	switch {
	case !r.byName() && !r.byContent():
		return fmt.Errorf("%w: rule %s selects nothing: set Keys, KeyMatch, Match or Pattern", ErrInvalid, name)
	case r.Match != nil && r.Pattern != nil:
		return fmt.Errorf("%w: rule %s sets both Match and Pattern", ErrInvalid, name)
	case (r.Drop || r.Pseudonym != nil) && (!r.byName() || r.byContent()):
		return fmt.Errorf("%w: rule %s: Drop and Pseudonym act on whole attributes: name them with Keys or KeyMatch, without Match or Pattern", ErrInvalid, name)
	case r.Drop && r.Pseudonym != nil:
		return fmt.Errorf("%w: rule %s sets both Drop and Pseudonym", ErrInvalid, name)
	case r.Pseudonym != nil && r.Pseudonym.Keys == nil:
		return fmt.Errorf("%w: rule %s: Pseudonym.Keys is nil", ErrInvalid, name)
	}
	for _, k := range r.Keys {
		if k == "" {
			return fmt.Errorf("%w: rule %s has an empty key", ErrInvalid, name)
		}
	}
	return nil
}

// keyRule is a compiled whole-value rule.
type keyRule struct {
	keys   []string
	match  func(string) bool
	repl   string
	drop   bool
	pseudo *Pseudonymizer
}

func (k *keyRule) selects(key string) bool {
	for _, s := range k.keys {
		if strings.EqualFold(s, key) {
			return true
		}
	}
	return k.match != nil && k.match(key)
}

// valueRule is a compiled content rule.
type valueRule struct {
	scope *keyRule // nil: every string value and the message
	find  func(string) (int, int)
	repl  string
	need  uint8 // needAt…: skip the rule when the value lacks these bytes
}

// redactor is the compiled Redact list of one Handler.
type redactor struct {
	names    []keyRule
	values   []valueRule
	subjects []string // attribute keys naming pseudonymisation subjects
}

// compileRules compiles the valid rules and returns the first error of
// the invalid ones (which are left out).
func compileRules(rules []Rule) (*redactor, error) {
	if len(rules) == 0 {
		return nil, nil
	}
	rd := &redactor{}
	var first error
	for i := range rules {
		r := &rules[i]
		if err := r.validate(i); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		repl := r.Replacement
		if repl == "" {
			repl = DefaultReplacement
		}
		var scope *keyRule
		if r.byName() {
			scope = &keyRule{keys: r.Keys, match: r.KeyMatch, repl: repl, drop: r.Drop, pseudo: r.Pseudonym}
		}
		if !r.byContent() {
			rd.names = append(rd.names, *scope)
			if p := r.Pseudonym; p != nil && p.Subject != "" {
				rd.subjects = append(rd.subjects, p.Subject)
			}
			continue
		}
		find, need := r.Match, uint8(0)
		if r.Pattern != nil {
			find = regexpFinder(r.Pattern)
		}
		if r.need != 0 && builtinFinder(r.need, r.Match) {
			need = r.need // a built-in: never an empty match, prefilter known
		} else {
			find = nonEmpty(find)
		}
		rd.values = append(rd.values, valueRule{scope: scope, find: find, repl: repl, need: need})
	}
	if len(rd.names) == 0 && len(rd.values) == 0 {
		return nil, first
	}
	return rd, first
}

func regexpFinder(re *regexp.Regexp) func(string) (int, int) {
	return func(s string) (int, int) {
		loc := re.FindStringIndex(s)
		if loc == nil {
			return -1, -1
		}
		return loc[0], loc[1]
	}
}

// nonEmpty wraps find so that an empty match (a pattern like `x*`) is
// skipped rather than looping for ever at one offset; a find that returns
// an out-of-range match is treated as no match, never a panic.
func nonEmpty(find func(string) (int, int)) func(string) (int, int) {
	return func(s string) (int, int) {
		for off := 0; off <= len(s); {
			st, end := find(s[off:])
			if st < 0 || st > end || end > len(s)-off {
				return -1, -1
			}
			if end > st {
				return off + st, off + end
			}
			off += st + 1
		}
		return -1, -1
	}
}

// nameRule returns the whole-value rule selecting key, or nil.
func (rd *redactor) nameRule(key string) *keyRule {
	for i := range rd.names {
		if rd.names[i].selects(key) {
			return &rd.names[i]
		}
	}
	return nil
}

// applies reports whether content rule v covers the value of key
// (isMsg: the message, which only unscoped rules cover).
func (v *valueRule) applies(key string, isMsg bool) bool {
	if v.scope == nil {
		return true
	}
	return !isMsg && v.scope.selects(key)
}

// appendString appends s as a JSON string with every content match
// replaced. A string no rule matches costs one cheap scan per rule; each
// rule's next match is remembered, so a string with many matches costs
// one scan per match of that rule, not of every rule (no quadratic cost
// on a long value full of secrets).
func (rd *redactor) appendString(b []byte, key, s string, isMsg bool) []byte {
	have := prefilter(s)
	if !rd.mayMatch(key, isMsg, have) { // the common case: nothing to look for
		if have&classEscape == 0 { // nor to escape: the scan was the only one
			b = append(b, '"')
			b = append(b, s...)
			return append(b, '"')
		}
		return appendJSONString(b, s)
	}
	b = append(b, '"')
	var cache [8]struct{ st, end int }
	for i := range cache {
		cache[i].st = -2 // not yet looked for
	}
	pos := 0
	for {
		best, bestEnd := -1, -1
		var repl string
		for i := range rd.values {
			v := &rd.values[i]
			if !v.applies(key, isMsg) || v.need&have != v.need {
				continue
			}
			var st, end int
			if i < len(cache) && (cache[i].st >= pos || cache[i].st == -1) {
				st, end = cache[i].st, cache[i].end // -1: none left
			} else {
				st, end = v.find(s[pos:])
				if st >= 0 {
					st, end = pos+st, pos+end
				}
				if i < len(cache) {
					cache[i].st, cache[i].end = st, end
				}
			}
			if st >= 0 && (best < 0 || st < best) {
				best, bestEnd, repl = st, end, v.repl
			}
		}
		if best < 0 {
			break
		}
		b = appendEscaped(b, s[pos:best])
		b = appendEscaped(b, repl)
		pos = bestEnd
	}
	b = appendEscaped(b, s[pos:])
	return append(b, '"')
}

// mayMatch reports whether a content rule covering key can match a value
// whose prefilter bits are have.
func (rd *redactor) mayMatch(key string, isMsg bool, have uint8) bool {
	for i := range rd.values {
		v := &rd.values[i]
		if v.need&have == v.need && v.applies(key, isMsg) {
			return true
		}
	}
	return false
}

// matches reports whether any content rule covering key matches s.
func (rd *redactor) matches(key, s string) bool {
	have := prefilter(s)
	for i := range rd.values {
		v := &rd.values[i]
		if v.applies(key, false) && v.need&have == v.need {
			if st, _ := v.find(s); st >= 0 {
				return true
			}
		}
	}
	return false
}
