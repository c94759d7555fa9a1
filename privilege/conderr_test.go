package privilege_test

import (
	"errors"
	"testing"

	"github.com/groundwork-go/groundwork/privilege"
)

// TestConditionErrorPosition: a bad condition's position reaches the
// caller of a store write as fields (errors.As), not only as text.
func TestConditionErrorPosition(t *testing.T) {
	s := privilege.NewMemoryStore()
	t.Cleanup(func() { _ = s.Close() })
	err := s.PutPolicy(bg, privilege.Policy{ID: "p", Effect: privilege.Permit, Active: true,
		Condition: "subject.level > 3 &&\n  nosuch == 1"})
	var ce *privilege.ConditionError
	if !errors.As(err, &ce) || !errors.Is(err, privilege.ErrBadCondition) {
		t.Fatalf("PutPolicy: %v, want a *ConditionError that is ErrBadCondition", err)
	}
	if ce.Line != 2 || ce.Column != 3 || ce.Msg == "" {
		t.Fatalf("position %d:%d %q, want 2:3 with a message", ce.Line, ce.Column, ce.Msg)
	}
	if want := "privilege: bad condition: line 2, column 3: " + ce.Msg; ce.Error() != want {
		t.Fatalf("text %q, want %q", ce.Error(), want)
	}
}
