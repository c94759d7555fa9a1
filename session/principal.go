package session

import (
	"context"
	"slices"
)

// This file is the adapter the privilege package takes its subject from:
// a request's Principal (PrincipalFromContext) with the two questions an
// authorization check asks first (HasRole, HasPermission). privilege
// evaluates its RBAC hierarchy and ABAC conditions on the Principal's
// UserID, Roles, Permissions and Attrs; nothing here depends on it.

// PrincipalFromContext returns the Principal of the request's session
// (cookie or bearer token), as Middleware put it in ctx: the subject to
// hand to privilege. It is false for a request with no session or an
// anonymous (pre-login) one.
func PrincipalFromContext(ctx context.Context) (*Principal, bool) {
	s, ok := FromContext(ctx)
	if !ok || s == nil {
		return nil, false
	}
	p := s.Principal()
	return p, p != nil
}

// HasRole says whether p holds role directly (privilege resolves role
// inheritance). A nil Principal holds none.
func (p *Principal) HasRole(role string) bool {
	return p != nil && slices.Contains(p.Roles, role)
}

// HasPermission says whether p was granted perm directly. A nil
// Principal has none.
func (p *Principal) HasPermission(perm string) bool {
	return p != nil && slices.Contains(p.Permissions, perm)
}
