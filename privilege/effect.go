package privilege

import (
	"encoding/json"
	"fmt"
)

// String returns "permit" or "deny" (or "Effect(n)" for anything else).
func (e Effect) String() string {
	switch e {
	case Permit:
		return "permit"
	case Deny:
		return "deny"
	}
	return fmt.Sprintf("Effect(%d)", int(e))
}

// MarshalJSON writes "permit" or "deny"; another value is an error, so a
// policy document never holds an effect it cannot read back.
func (e Effect) MarshalJSON() ([]byte, error) {
	if e != Permit && e != Deny {
		return nil, fmt.Errorf("%w: effect %d is neither Permit nor Deny", ErrInvalid, int(e))
	}
	return json.Marshal(e.String())
}

// UnmarshalJSON reads "permit" or "deny".
func (e *Effect) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w: effect must be \"permit\" or \"deny\": %v", ErrInvalid, err)
	}
	switch s {
	case "permit":
		*e = Permit
	case "deny":
		*e = Deny
	default:
		return fmt.Errorf("%w: effect %q is neither \"permit\" nor \"deny\"", ErrInvalid, s)
	}
	return nil
}
