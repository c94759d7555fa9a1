package privilege

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// result is a computed decision and what the cache needs to know of it.
type result struct {
	d             Decision
	attrDependent bool      // a condition was evaluated: not cacheable by request alone
	validUntil    time.Time // a grant it relied on expires then (zero: none)
}

// decide applies the combination rule: an applicable ABAC deny overrides
// everything; an ABAC permit or an RBAC permit allows; otherwise deny.
// ABAC goes first because a deny there makes the role lookup unnecessary.
func (e *Engine) decide(ctx context.Context, req *Request, idx *policyIndex, now time.Time) (result, error) {
	var r result
	abac, indeterminate := e.evalPolicies(ctx, req, idx, &r)
	// A cancelled context turns conditions indeterminate; never let that
	// silently drop a deny.
	if err := ctx.Err(); err != nil {
		return r, err
	}
	if abac != nil && abac.Effect == Deny {
		r.d = Decision{PolicyID: abac.ID, Reason: fmt.Sprintf("denied by policy %q (priority %d)", abac.ID, abac.Priority)}
		return r, nil
	}
	if abac != nil {
		r.d = Decision{Allowed: true, PolicyID: abac.ID, Reason: fmt.Sprintf("permitted by policy %q (priority %d)", abac.ID, abac.Priority)}
		return r, nil
	}
	roles, err := e.store.EffectiveRoles(ctx, req.Subject, now)
	if err != nil {
		return r, wrapOp("check: effective roles", err)
	}
	for _, er := range roles {
		if !er.Expires.IsZero() && (r.validUntil.IsZero() || er.Expires.Before(r.validUntil)) {
			r.validUntil = er.Expires
		}
	}
	for _, er := range roles {
		for _, p := range er.Permissions {
			if matchPattern(p.Resource, req.Resource) && matchPattern(p.Action, req.Action) {
				r.d = Decision{Allowed: true, Role: er.Role.ID, Reason: rolePermits(er, p)}
				return r, nil
			}
		}
	}
	reason := fmt.Sprintf("no role or policy permits %q on %q", req.Action, req.Resource)
	if len(indeterminate) > 0 {
		reason += "; indeterminate: " + strings.Join(indeterminate, "; ")
	}
	r.d = Decision{Reason: reason}
	return r, nil
}

func rolePermits(er EffectiveRole, p Permission) string {
	if er.Via != "" && er.Via != er.Role.ID {
		return fmt.Sprintf("role %q (through %q) permits %q on %q", er.Role.ID, er.Via, p.Action, p.Resource)
	}
	return fmt.Sprintf("role %q permits %q on %q", er.Role.ID, p.Action, p.Resource)
}

// evalPolicies walks the candidate policies by priority, highest first.
// Within one priority every applicable policy is found; if permits and
// denies both apply, the combining algorithm picks. The first priority
// with an applicable policy decides. A condition that cannot be evaluated
// makes its policy indeterminate: it is skipped and named in the reason.
func (e *Engine) evalPolicies(ctx context.Context, req *Request, idx *policyIndex, r *result) (*compiledPolicy, []string) {
	var indeterminate []string
	cands := idx.candidates(req.Resource)
	for i := 0; i < len(cands); {
		prio := cands[i].Priority
		var permit, deny *compiledPolicy
		for ; i < len(cands) && cands[i].Priority == prio; i++ {
			p := cands[i]
			if !matchAny(p.Target.Subjects, req.Subject) || !matchAny(p.Target.Actions, req.Action) {
				continue
			}
			if (p.Effect == Permit && permit != nil) || (p.Effect == Deny && deny != nil) {
				continue // this effect already applies at this priority
			}
			if p.prg != nil {
				r.attrDependent = true
				holds, ok, why := evalCondition(ctx, p.prg, req)
				if !ok {
					indeterminate = append(indeterminate, fmt.Sprintf("policy %q: %s", p.ID, why))
					continue
				}
				if !holds {
					continue
				}
			}
			if p.Effect == Permit {
				permit = p
			} else {
				deny = p
			}
		}
		switch {
		case permit != nil && deny != nil && e.o.combining == PermitOverrides:
			return permit, indeterminate
		case deny != nil:
			return deny, indeterminate
		case permit != nil:
			return permit, indeterminate
		}
	}
	return nil, indeterminate
}
