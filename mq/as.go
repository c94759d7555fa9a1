package mq

import (
	"reflect"

	"github.com/groundwork-go/groundwork/mq/driver"
)

// As sets target, a pointer, to the provider's native consumer of this
// subscription (the group member's own client or consumer) when the types
// match, and reports whether it did; each provider package lists the
// types it accepts under # As, and a provider whose members read through
// the Client's native client hands out nothing here (use Client.As).
//
// The consumer belongs to the subscription: read its state through it,
// but do not poll, commit, pause or close it, which would take messages
// or offsets from under the subscription. Once Close or Shutdown has
// begun, As returns false, so that it never hands out a consumer that is
// shut down; one handed out before is shut down by Close.
func (s *Subscription) As(target any) bool {
	if nilTarget(target) {
		return false
	}
	select {
	case <-s.stopping:
		return false
	default:
	}
	a, ok := s.recv.(driver.Aser)
	return ok && a.As(target)
}

// nilTarget reports whether target is nil or a nil pointer, which As
// cannot set (a provider's type switch matches a typed nil pointer, and
// storing through it would panic).
func nilTarget(target any) bool {
	v := reflect.ValueOf(target)
	return !v.IsValid() || v.Kind() == reflect.Pointer && v.IsNil()
}
