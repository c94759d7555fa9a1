package logship

import (
	"net/netip"
	"reflect"
	"strings"
)

// DefaultRules returns the usual redaction set: SecretKeyRule, EmailRule,
// CardRule and TokenRule (IPRule is opt-in: IP addresses are often what
// an operator needs).
func DefaultRules() []Rule {
	return []Rule{SecretKeyRule(), EmailRule(), CardRule(), TokenRule()}
}

// SecretKeyRule replaces the whole value of attributes whose key contains,
// in any case, password, passwd, passphrase, secret, token, api_key,
// api-key, apikey, private_key, private-key, privatekey, credential,
// authorization or cookie ("db_password", "X-Api-Key", "set-cookie",
// "ssh_passphrase", "privateKey", "credentials").
// It errs on the side of hiding: "token_count" is hidden too.
func SecretKeyRule() Rule {
	return Rule{Name: "secret-key", KeyMatch: isSecretKey}
}

// EmailRule replaces e-mail addresses (local@domain.tld) in values and
// messages. A string without '@' costs one byte scan.
func EmailRule() Rule { return Rule{Name: "email", Match: findEmail, need: needAt} }

// CardRule replaces payment card numbers: 13 to 19 digits, optionally in
// groups separated by single spaces or dashes, starting with 2–6 (the
// card networks' ranges; this spares millisecond and nanosecond Unix
// times) and passing the Luhn check. A string with fewer than 13 digits
// costs one byte scan. Integer attributes of 13 digits or more are checked
// too.
func CardRule() Rule { return Rule{Name: "card", Match: findCard, need: needDigits} }

// TokenRule replaces JSON Web Tokens (three base64url segments starting
// "eyJ") and the credentials after "Bearer " (any case).
func TokenRule() Rule { return Rule{Name: "token", Match: findToken, need: needJB} }

// IPRule replaces IPv4 and IPv6 addresses.
func IPRule() Rule { return Rule{Name: "ip", Match: findIP, need: needDotColon} }

// The prefilter: one pass over a value tells which built-in detectors
// can match it at all, so that a plain value costs one scan, not one per
// rule.
const (
	needAt       uint8 = 1 << iota // '@': an e-mail address
	needDigits                     // 13 digits or more: a card number
	needJB                         // 'J' or 'b'/'B': "eyJ", "Bearer"
	needDotColon                   // '.' or ':': an IP address
	needAlways   uint8 = 0
)

// classEscape, in prefilterClass only, marks a byte a JSON string cannot
// hold as it is (safeASCII false): the same pass then tells whether the
// value can be copied into the document unescaped.
const classEscape uint8 = 1 << 7

var prefilterClass = func() (t [256]uint8) {
	for c := range t {
		if !safeASCII[c] {
			t[c] = classEscape
		}
	}
	t['@'] = needAt
	t['J'], t['b'], t['B'] = needJB, needJB, needJB
	t['.'], t[':'] = needDotColon, needDotColon
	return t
}()

// prefilter returns the need bits s satisfies, and classEscape if s has a
// byte to escape.
func prefilter(s string) uint8 {
	var have uint8
	digits := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c-'0' < 10 {
			digits++
			continue
		}
		have |= prefilterClass[c]
	}
	if digits >= 13 {
		have |= needDigits
	}
	return have
}

// builtinFinder reports whether find is still the detector need belongs
// to (a copied built-in Rule whose Match was replaced loses its prefilter).
func builtinFinder(need uint8, find func(string) (int, int)) bool {
	var want func(string) (int, int)
	switch need {
	case needAt:
		want = findEmail
	case needDigits:
		want = findCard
	case needJB:
		want = findToken
	case needDotColon:
		want = findIP
	default:
		return false
	}
	return find != nil && reflect.ValueOf(find).Pointer() == reflect.ValueOf(want).Pointer()
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasFoldAt reports whether s[i:] starts with the lower-case word w, in any case.
func hasFoldAt(s string, i int, w string) bool {
	if len(s)-i < len(w) {
		return false
	}
	for j := 0; j < len(w); j++ {
		if lower(s[i+j]) != w[j] {
			return false
		}
	}
	return true
}

func isSecretKey(key string) bool {
	// Every word is 5 bytes or more ("token"): no need to look where
	// fewer are left.
	for i := 0; i+5 <= len(key); i++ {
		switch lower(key[i]) {
		case 'p':
			if hasFoldAt(key, i, "password") || hasFoldAt(key, i, "passwd") || hasFoldAt(key, i, "passphrase") ||
				hasFoldAt(key, i, "private_key") || hasFoldAt(key, i, "private-key") || hasFoldAt(key, i, "privatekey") {
				return true
			}
		case 's':
			if hasFoldAt(key, i, "secret") {
				return true
			}
		case 't':
			if hasFoldAt(key, i, "token") {
				return true
			}
		case 'a':
			if hasFoldAt(key, i, "api_key") || hasFoldAt(key, i, "api-key") || hasFoldAt(key, i, "apikey") || hasFoldAt(key, i, "authorization") {
				return true
			}
		case 'c':
			if hasFoldAt(key, i, "cookie") || hasFoldAt(key, i, "credential") {
				return true
			}
		}
	}
	return false
}

func isEmailLocal(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._%+-", c) >= 0
}

func isDomainByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-'
}

func findEmail(s string) (int, int) {
	for from := 0; from < len(s); {
		i := strings.IndexByte(s[from:], '@')
		if i < 0 {
			return -1, -1
		}
		at := from + i
		l := at
		for l > 0 && isEmailLocal(s[l-1]) {
			l--
		}
		r := at + 1
		for r < len(s) && isDomainByte(s[r]) {
			r++
		}
		for r > at+1 && (s[r-1] == '.' || s[r-1] == '-') {
			r--
		}
		if l < at && r > at+1 && s[at+1] != '.' && strings.IndexByte(s[at+1:r], '.') >= 0 {
			return l, r
		}
		from = at + 1
	}
	return -1, -1
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func findCard(s string) (int, int) {
	n := 0
	for i := 0; i < len(s) && n < 13; i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	if n < 13 {
		return -1, -1
	}
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i++
			continue
		}
		// A run: digit groups joined by single separators.
		runEnd := i
		for runEnd < len(s) && (isDigit(s[runEnd]) || (s[runEnd] == ' ' || s[runEnd] == '-') && runEnd+1 < len(s) && isDigit(s[runEnd+1]) && runEnd > i) {
			runEnd++
		}
		if st, end := cardInRun(s[i:runEnd]); st >= 0 {
			return i + st, i + end
		}
		i = runEnd
	}
	return -1, -1
}

// cardInRun looks for a card number made of consecutive groups of run.
func cardInRun(run string) (int, int) {
	for g := 0; g < len(run); {
		if g > 0 && !isDigit(run[g-1]) || g == 0 {
			digits, sum := 0, 0
			// Luhn needs the digits from the right: collect up to 19.
			var d [19]byte
			for j := g; j < len(run); j++ {
				if !isDigit(run[j]) {
					continue
				}
				if digits == len(d) {
					break
				}
				d[digits] = run[j] - '0'
				digits++
				if digits >= 13 && (j+1 == len(run) || !isDigit(run[j+1])) && d[0] >= 2 && d[0] <= 6 {
					sum = 0
					for k := 0; k < digits; k++ {
						x := int(d[digits-1-k])
						if k%2 == 1 {
							x *= 2
							if x > 9 {
								x -= 9
							}
						}
						sum += x
					}
					if sum%10 == 0 {
						return g, j + 1
					}
				}
			}
		}
		// Next group.
		for g < len(run) && isDigit(run[g]) {
			g++
		}
		for g < len(run) && !isDigit(run[g]) {
			g++
		}
	}
	return -1, -1
}

func isB64URL(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

func isTokenByte(c byte) bool {
	return isB64URL(c) || strings.IndexByte(".~+/=", c) >= 0
}

func findToken(s string) (int, int) {
	js, je := findJWT(s)
	bs, be := findBearer(s)
	if bs >= 0 && (js < 0 || bs < js) {
		return bs, be
	}
	return js, je
}

func findJWT(s string) (int, int) {
	for from := 0; from < len(s); {
		i := strings.Index(s[from:], "eyJ")
		if i < 0 {
			return -1, -1
		}
		st := from + i
		j, dots := st, 0
		for j < len(s) {
			if isB64URL(s[j]) {
				j++
			} else if s[j] == '.' && dots < 2 && j+1 <= len(s) {
				dots++
				j++
			} else {
				break
			}
		}
		if dots == 2 {
			return st, j
		}
		// No token starts inside what was scanned: a later start would
		// see a suffix of the same run, with no more dots.
		from = j
	}
	return -1, -1
}

func findBearer(s string) (int, int) {
	for from := 0; from < len(s); {
		i := strings.Index(s[from:], "earer ")
		if j := strings.Index(s[from:], "EARER "); j >= 0 && (i < 0 || j < i) {
			i = j
		}
		if i < 0 {
			return -1, -1
		}
		at := from + i
		if at > 0 && lower(s[at-1]) == 'b' && hasFoldAt(s, at-1, "bearer ") {
			st := at + len("earer ")
			end := st
			for end < len(s) && isTokenByte(s[end]) {
				end++
			}
			if end > st {
				return st, end
			}
		}
		from = at + 1
	}
	return -1, -1
}

func isHex(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func findIP(s string) (int, int) {
	if strings.IndexByte(s, '.') < 0 && strings.IndexByte(s, ':') < 0 {
		return -1, -1
	}
	for i := 0; i < len(s); {
		if !isHex(s[i]) && s[i] != ':' {
			i++
			continue
		}
		j := i
		colons := 0
		for j < len(s) && (isHex(s[j]) || s[j] == ':' || s[j] == '.') {
			if s[j] == ':' {
				colons++
			}
			j++
		}
		cand := strings.TrimRight(s[i:j], ".")
		if colons >= 2 {
			if a, err := netip.ParseAddr(cand); err == nil && a.Is6() {
				return i, i + len(cand)
			}
		} else if st, end := ipv4In(cand); st >= 0 {
			return i + st, i + end
		}
		if j == i {
			j++
		}
		i = j
	}
	return -1, -1
}

// ipv4In finds a dotted quad in a run of hex digits and dots.
func ipv4In(run string) (int, int) {
	for i := 0; i < len(run); i++ {
		if !isDigit(run[i]) || i > 0 && (isDigit(run[i-1]) || run[i-1] == '.') {
			continue
		}
		j := i
		for j < len(run) && (isDigit(run[j]) || run[j] == '.') {
			j++
		}
		if a, err := netip.ParseAddr(run[i:j]); err == nil && a.Is4() {
			return i, j
		}
	}
	return -1, -1
}
