package privilege

import (
	"net/http"
	"time"
)

// The JSON shapes of the admin API (snake_case, as the package's other
// JSON answers).

type roleJSON struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Parents []string `json:"parents"`
	Active  bool     `json:"active"`
}

// roleIn is a PUT role body; the ID comes from the path (a body id, if
// any, must match it); active defaults to true.
type roleIn struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Parents []string `json:"parents"`
	Active  *bool    `json:"active"`
}

type permissionJSON struct {
	Resource string `json:"resource"`
	Action   string `json:"action"`
}

type grantJSON struct {
	UserID  string `json:"user_id"`
	RoleID  string `json:"role_id"`
	Expires string `json:"expires,omitempty"` // RFC 3339; none: for good
	Expired bool   `json:"expired,omitempty"`
}

type grantIn struct {
	Expires string `json:"expires"`
}

// policyIn is a PUT policy body: a Policy whose effect is "permit" or
// "deny" and whose active defaults to true.
type policyIn struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Priority  int    `json:"priority"`
	Effect    string `json:"effect"`
	Target    Target `json:"target"`
	Condition string `json:"condition"`
	Active    *bool  `json:"active"`
}

type checkIn struct {
	Subject       string         `json:"subject"`
	SubjectAttrs  map[string]any `json:"subject_attrs"`
	Resource      string         `json:"resource"`
	ResourceAttrs map[string]any `json:"resource_attrs"`
	Action        string         `json:"action"`
	Env           map[string]any `json:"env"`
}

type decisionJSON struct {
	Allowed  bool   `json:"allowed"`
	Reason   string `json:"reason"`
	PolicyID string `json:"policy_id,omitempty"`
	Role     string `json:"role,omitempty"`
	Version  uint64 `json:"version"`
}

func toRoleJSON(r Role) roleJSON {
	if r.Parents == nil {
		r.Parents = []string{}
	}
	return roleJSON(r)
}

// sameID refuses a body whose id is not the path's.
func sameID(body, path string) *adminError {
	if body != "" && body != path {
		return badRequest("id", "privilege admin: the body's id %q is not the path's %q", body, path)
	}
	return nil
}

func (a *admin) listRoles(r *http.Request) (int, any, *adminError) {
	rs, err := a.e.store.Roles(r.Context())
	if err != nil {
		return 0, nil, storeError(err, "", http.StatusNotFound)
	}
	out := make([]roleJSON, 0, len(rs))
	for _, x := range rs {
		out = append(out, toRoleJSON(x))
	}
	return http.StatusOK, map[string]any{"roles": out}, nil
}

func (a *admin) getRole(r *http.Request) (int, any, *adminError) {
	id := r.PathValue("id")
	rs, err := a.e.store.Roles(r.Context())
	if err != nil {
		return 0, nil, storeError(err, "", http.StatusNotFound)
	}
	for _, x := range rs {
		if x.ID == id {
			return http.StatusOK, toRoleJSON(x), nil
		}
	}
	return 0, nil, &adminError{status: http.StatusNotFound, Error: "privilege admin: no role " + quote(id)}
}

func (a *admin) putRole(r *http.Request) (int, any, *adminError) {
	id := r.PathValue("id")
	var in roleIn
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	if err := sameID(in.ID, id); err != nil {
		return 0, nil, err
	}
	for _, p := range in.Parents {
		if err := checkID("parents", p); err != nil {
			return 0, nil, err
		}
	}
	// A parent passes its permissions to every holder of the role: it
	// needs the same bind right as granting it.
	for _, p := range in.Parents {
		if err := a.bind(r, p); err != nil {
			return 0, nil, err
		}
	}
	role := Role{ID: id, Name: in.Name, Parents: in.Parents, Active: in.Active == nil || *in.Active}
	if err := a.e.store.PutRole(r.Context(), role); err != nil {
		return 0, nil, storeError(err, "parents", http.StatusBadRequest) // the missing role is a parent
	}
	return http.StatusOK, toRoleJSON(role), nil
}

func (a *admin) deleteRole(r *http.Request) (int, any, *adminError) {
	if err := a.e.store.DeleteRole(r.Context(), r.PathValue("id")); err != nil {
		return 0, nil, storeError(err, "", http.StatusNotFound)
	}
	return http.StatusNoContent, nil, nil
}

func (a *admin) listPermissions(r *http.Request) (int, any, *adminError) {
	id := r.PathValue("id")
	ps, err := a.e.store.RolePermissions(r.Context(), id)
	if err != nil {
		return 0, nil, storeError(err, "", http.StatusNotFound)
	}
	out := make([]permissionJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, permissionJSON(p))
	}
	return http.StatusOK, map[string]any{"role_id": id, "permissions": out}, nil
}

func (a *admin) putPermission(r *http.Request) (int, any, *adminError) {
	var in permissionJSON
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	if err := a.e.store.PutPermission(r.Context(), r.PathValue("id"), Permission(in)); err != nil {
		return 0, nil, storeError(err, "", http.StatusNotFound) // the missing role is the path's
	}
	return http.StatusOK, in, nil
}

// removePermission takes the permission from the query (resource,
// action): a DELETE carries no body.
func (a *admin) removePermission(r *http.Request) (int, any, *adminError) {
	q := r.URL.Query()
	for k, v := range q {
		if k != "resource" && k != "action" {
			return 0, nil, badRequest(k, "privilege admin: unknown parameter %q", k)
		}
		if len(v) != 1 || v[0] == "" {
			return 0, nil, badRequest(k, "privilege admin: %s must be given once, not empty", k)
		}
	}
	p := Permission{Resource: q.Get("resource"), Action: q.Get("action")}
	if field := firstEmpty("resource", p.Resource, "action", p.Action); field != "" {
		return 0, nil, badRequest(field, "privilege admin: parameter %s is missing", field)
	}
	if err := a.e.store.RemovePermission(r.Context(), r.PathValue("id"), p); err != nil {
		return 0, nil, storeError(err, "", http.StatusNotFound)
	}
	return http.StatusNoContent, nil, nil
}

func (a *admin) listGrants(r *http.Request) (int, any, *adminError) {
	user := r.PathValue("user")
	gs, err := a.e.store.Grants(r.Context(), user)
	if err != nil {
		return 0, nil, storeError(err, "", http.StatusNotFound)
	}
	now := a.e.o.now()
	out := make([]grantJSON, 0, len(gs))
	for _, g := range gs {
		j := grantJSON{UserID: g.UserID, RoleID: g.RoleID}
		if !g.Expires.IsZero() {
			j.Expires = g.Expires.UTC().Format(time.RFC3339Nano)
			j.Expired = !now.Before(g.Expires)
		}
		out = append(out, j)
	}
	return http.StatusOK, map[string]any{"user_id": user, "grants": out}, nil
}

// putGrant grants the path's role to the path's user, until the body's
// expires (RFC 3339; empty or absent: for good). An expiry already past
// is refused: such a grant would give nothing.
func (a *admin) putGrant(r *http.Request) (int, any, *adminError) {
	user, role := r.PathValue("user"), r.PathValue("role")
	if err := checkID("role", role); err != nil {
		return 0, nil, err
	}
	if err := a.bind(r, role); err != nil {
		return 0, nil, err
	}
	var in grantIn
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	var exp time.Time
	if in.Expires != "" {
		var err error
		if exp, err = time.Parse(time.RFC3339, in.Expires); err != nil {
			return 0, nil, badRequest("expires", "privilege admin: expires %q is not an RFC 3339 time (2006-01-02T15:04:05Z07:00)", in.Expires)
		}
		if !a.e.o.now().Before(exp) {
			return 0, nil, badRequest("expires", "privilege admin: expires %s is not in the future", in.Expires)
		}
	}
	if err := a.e.store.Grant(r.Context(), user, role, exp); err != nil {
		return 0, nil, storeError(err, "", http.StatusNotFound) // the missing role is the path's
	}
	j := grantJSON{UserID: user, RoleID: role}
	if !exp.IsZero() {
		j.Expires = exp.UTC().Format(time.RFC3339Nano)
	}
	return http.StatusOK, j, nil
}

func (a *admin) deleteGrant(r *http.Request) (int, any, *adminError) {
	role := r.PathValue("role")
	if err := checkID("role", role); err != nil {
		return 0, nil, err
	}
	if err := a.bind(r, role); err != nil {
		return 0, nil, err
	}
	if err := a.e.store.Revoke(r.Context(), r.PathValue("user"), role); err != nil {
		return 0, nil, storeError(err, "", http.StatusNotFound)
	}
	return http.StatusNoContent, nil, nil
}

func (a *admin) listPolicies(r *http.Request) (int, any, *adminError) {
	ps, err := allPolicies(r.Context(), a.e.store)
	if err != nil {
		return 0, nil, storeError(err, "", http.StatusNotFound)
	}
	if ps == nil {
		ps = []Policy{}
	}
	return http.StatusOK, map[string]any{"policies": ps}, nil
}

func (a *admin) getPolicy(r *http.Request) (int, any, *adminError) {
	id := r.PathValue("id")
	ps, err := allPolicies(r.Context(), a.e.store)
	if err != nil {
		return 0, nil, storeError(err, "", http.StatusNotFound)
	}
	for _, p := range ps {
		if p.ID == id {
			return http.StatusOK, p, nil
		}
	}
	return 0, nil, &adminError{status: http.StatusNotFound, Error: "privilege admin: no policy " + quote(id)}
}

func (a *admin) putPolicy(r *http.Request) (int, any, *adminError) {
	id := r.PathValue("id")
	var in policyIn
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	if err := sameID(in.ID, id); err != nil {
		return 0, nil, err
	}
	p := Policy{ID: id, Name: in.Name, Priority: in.Priority, Target: in.Target, Condition: in.Condition, Active: in.Active == nil || *in.Active}
	switch in.Effect {
	case "permit":
		p.Effect = Permit
	case "deny":
		p.Effect = Deny
	default:
		return 0, nil, badRequest("effect", "privilege admin: effect %q is neither \"permit\" nor \"deny\"", in.Effect)
	}
	if err := a.e.store.PutPolicy(r.Context(), p); err != nil {
		return 0, nil, storeError(err, "", http.StatusNotFound)
	}
	return http.StatusOK, p, nil
}

func (a *admin) deletePolicy(r *http.Request) (int, any, *adminError) {
	if err := a.e.store.DeletePolicy(r.Context(), r.PathValue("id")); err != nil {
		return 0, nil, storeError(err, "", http.StatusNotFound)
	}
	return http.StatusNoContent, nil, nil
}

// check explains the decision the engine makes on the body's request.
func (a *admin) check(r *http.Request) (int, any, *adminError) {
	var in checkIn
	if err := decodeBody(r, &in); err != nil {
		return 0, nil, err
	}
	if field := firstEmpty("subject", in.Subject, "resource", in.Resource, "action", in.Action); field != "" {
		return 0, nil, badRequest(field, "privilege admin: %s is empty", field)
	}
	d, err := a.e.Check(r.Context(), Request(in))
	if err != nil {
		return 0, nil, &adminError{status: http.StatusServiceUnavailable, Error: "privilege admin: cannot decide: " + d.Reason}
	}
	return http.StatusOK, decisionJSON(d), nil
}

// firstEmpty takes name, value pairs and returns the first name whose
// value is empty, or "": a request missing several fields is told of the
// same one every time (a map's order would vary).
func firstEmpty(pairs ...string) string {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return pairs[i]
		}
	}
	return ""
}
