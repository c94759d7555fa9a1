package privilege

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"

	"github.com/groundwork-go/groundwork/session"
)

// Middleware returns the access filter: every request is mapped by
// mapper to a Request (Routes.Mapper builds one from a route table),
// checked, and passed to next only when allowed, with the Decision in its
// context (DecisionFromContext).
//
// When mapper leaves Subject empty, the subject is the session's: the
// *session.Principal that session.Manager.Middleware put in the context
// (so put this filter inside it). Its UserID is the Subject; its Username,
// Roles and Attrs are added to SubjectAttrs as "username", "roles" and
// their own keys, without replacing what mapper set. The roles the
// session carries are attributes for conditions only: RBAC uses the
// roles granted in the Store.
//
// Answers, all JSON, never reaching next:
//   - no subject: 401 {"error": ...};
//   - an empty Resource or Action (no route matched): 403 with the
//     reason "no route";
//   - denied: 403 {"allowed": false, "reason", "policy_id", "role"};
//   - the engine failed (store unreachable, engine closed): 503
//     {"error": ...} — the filter fails closed.
//
// A nil mapper maps every request to nothing: all are refused.
func (e *Engine) Middleware(mapper func(*http.Request) Request) func(http.Handler) http.Handler {
	if mapper == nil {
		mapper = func(*http.Request) Request { return Request{} }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			req := mapper(r)
			if req.Subject == "" {
				p, ok := session.PrincipalFromContext(r.Context())
				if !ok || p.UserID == "" {
					writeJSON(w, http.StatusUnauthorized, errorBody{"privilege: no subject: not logged in"})
					return
				}
				req.Subject = p.UserID
				req.SubjectAttrs = principalAttrs(p, req.SubjectAttrs)
			}
			if req.Resource == "" || req.Action == "" {
				writeJSON(w, http.StatusForbidden, denyBody{Reason: "no route: the request maps to no resource and action"})
				return
			}
			d, err := e.Check(r.Context(), req)
			if err != nil {
				writeJSON(w, http.StatusServiceUnavailable, errorBody{"privilege: cannot decide: " + d.Reason})
				return
			}
			if !d.Allowed {
				writeJSON(w, http.StatusForbidden, denyBody{Reason: d.Reason, PolicyID: d.PolicyID, Role: d.Role})
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), decisionKey{}, d)))
		})
	}
}

// principalAttrs returns set plus the principal's attributes, on a new
// map: set, the mapper's, wins and is not modified.
func principalAttrs(p *session.Principal, set map[string]any) map[string]any {
	out := make(map[string]any, len(p.Attrs)+2+len(set))
	for k, v := range p.Attrs {
		out[k] = v
	}
	if p.Username != "" {
		out["username"] = p.Username
	}
	if p.Roles != nil {
		out["roles"] = p.Roles
	}
	maps.Copy(out, set)
	return out
}

type decisionKey struct{}

// DecisionFromContext returns the Decision that Middleware let the
// request through with.
func DecisionFromContext(ctx context.Context) (Decision, bool) {
	d, ok := ctx.Value(decisionKey{}).(Decision)
	return d, ok
}

type errorBody struct {
	Error string `json:"error"`
}

type denyBody struct {
	Allowed  bool   `json:"allowed"`
	Reason   string `json:"reason"`
	PolicyID string `json:"policy_id,omitempty"`
	Role     string `json:"role,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
