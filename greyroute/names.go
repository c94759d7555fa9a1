package greyroute

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// maxName is the longest service, tenant, version or instance ID, in bytes.
const maxName = 128

// validName checks one name given to the Admin or the Router: 1–128 bytes
// of UTF-8, no control characters (they would corrupt logs and the
// "<service> <rev>" change events) and no braces (a brace in a service
// name would move the Redis Cluster hash tag of its keys; the same rule
// for every name keeps them interchangeable). field names the argument in
// the error.
func validName(field, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: %s is empty", ErrInvalid, field)
	case len(s) > maxName:
		return fmt.Errorf("%w: %s is %d bytes, longer than %d", ErrInvalid, field, len(s), maxName)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrInvalid, field, s)
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			return fmt.Errorf("%w: %s %q contains the control character %U", ErrInvalid, field, s, r)
		case r == '{' || r == '}':
			return fmt.Errorf("%w: %s %q contains a brace", ErrInvalid, field, s)
		}
	}
	return nil
}

// validNames checks pairs of (field, value) in order and returns the
// first error.
func validNames(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := validName(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}
