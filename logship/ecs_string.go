package logship

import "unicode/utf8"

// safeASCII[c] is true for the bytes a JSON string holds unescaped. '<',
// '>' and '&' stay literal: the documents go to log stores, not HTML.
// Bytes from utf8.RuneSelf up are false: they take the UTF-8 path.
var safeASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainASCII reports whether s is written in a JSON string as it is.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if !safeASCII[s[i]] {
			return false
		}
	}
	return true
}

// appendJSONString appends s as a quoted JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

// appendEscaped appends the body of a JSON string holding s: quotes,
// backslashes and control characters escaped, invalid UTF-8 replaced by
// U+FFFD (as encoding/json does), U+2028/U+2029 escaped so the document
// is also valid JavaScript.
func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		// The fast path: a run of plain ASCII, one table look-up a byte.
		for i < len(s) && safeASCII[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				const hexd = "0123456789abcdef"
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', byte('8'+r-'\u2028'))
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
