package privilege

import (
	"net/http"

	"github.com/groundwork-go/groundwork/internal/pagesec"
	"github.com/groundwork-go/groundwork/session"
)

// The actions the admin API checks; see AdminHandler.
const (
	adminRead  = "read"
	adminWrite = "write"
)

// admin is the state behind AdminHandler.
type admin struct {
	e *Engine
}

// AdminHandler returns the administration API and page for the rules the
// engine decides from: a JSON API under api/ and a small HTML page at
// the root, to mount under a prefix behind session's Middleware and CSRF
// (sm: a *session.Manager):
//
//	mux.Handle("/admin/privilege/", http.StripPrefix("/admin/privilege", e.AdminHandler()))
//	http.ListenAndServe(addr, sm.Middleware(sm.CSRF(mux)))
//
// Every call is checked by the engine itself, with the session's user as
// the subject, on a resource "privilege/<kind>[/<id>]" and the action
// "read" or "write", and a write that grants, revokes or links as a
// parent a role R also on "privilege/bind/R" for "write"; see the
// package doc's # Admin for the names, the endpoints and their answers. A write is refused (403) unless
// session.Manager.CSRF checked it, and a write with a body must be
// Content-Type application/json.
func (e *Engine) AdminHandler() http.Handler {
	a := &admin{e: e}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.page)
	mux.HandleFunc("GET /admin.js", a.asset("admin.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /admin.css", a.asset("admin.css", "text/css; charset=utf-8"))

	a.route(mux, "GET /api/roles", "roles", "", adminRead, a.listRoles)
	a.route(mux, "GET /api/roles/{id}", "roles", "id", adminRead, a.getRole)
	a.route(mux, "PUT /api/roles/{id}", "roles", "id", adminWrite, a.putRole)
	a.route(mux, "DELETE /api/roles/{id}", "roles", "id", adminWrite, a.deleteRole)

	a.route(mux, "GET /api/roles/{id}/permissions", "permissions", "id", adminRead, a.listPermissions)
	a.route(mux, "PUT /api/roles/{id}/permissions", "permissions", "id", adminWrite, a.putPermission)
	a.route(mux, "DELETE /api/roles/{id}/permissions", "permissions", "id", adminWrite, a.removePermission)

	a.route(mux, "GET /api/users/{user}/grants", "grants", "user", adminRead, a.listGrants)
	a.route(mux, "PUT /api/users/{user}/grants/{role}", "grants", "user", adminWrite, a.putGrant)
	a.route(mux, "DELETE /api/users/{user}/grants/{role}", "grants", "user", adminWrite, a.deleteGrant)

	a.route(mux, "GET /api/policies", "policies", "", adminRead, a.listPolicies)
	a.route(mux, "GET /api/policies/{id}", "policies", "id", adminRead, a.getPolicy)
	a.route(mux, "PUT /api/policies/{id}", "policies", "id", adminWrite, a.putPolicy)
	a.route(mux, "DELETE /api/policies/{id}", "policies", "id", adminWrite, a.deletePolicy)

	// Check explains a decision; it changes nothing, so it needs read.
	a.route(mux, "POST /api/check", "check", "", adminRead, a.check)

	// Go's cross-origin protection (Sec-Fetch-Site, Origin) refuses a
	// cross-site write even where the CSRF middleware was left out.
	return pagesec.Headers(http.NewCrossOriginProtection().Handler(mux))
}

// apiFunc serves one API call after the guard; it returns the status and
// the JSON body of a success, or the error to answer.
type apiFunc func(r *http.Request) (status int, body any, err *adminError)

// route registers f behind the guard: a logged-in subject (else 401), a
// well-formed ID in the path (else 400), the engine's permission for
// action on "privilege/<kind>[/<id>]" (else 403 with the reason), and for
// writes the CSRF middleware's pass (else 403).
func (a *admin) route(mux *http.ServeMux, pattern, kind, idParam, action string, f apiFunc) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		resource := "privilege/" + kind
		if idParam != "" {
			id := r.PathValue(idParam)
			if err := checkID(idParam, id); err != nil {
				writeAdminError(w, err)
				return
			}
			resource += "/" + id
		}
		if err := a.guard(r, resource, action); err != nil {
			writeAdminError(w, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && session.CSRFToken(r) == "" {
			// CSRFToken is set only behind Manager.CSRF, which checks
			// every method it does not deem safe (all but GET, HEAD,
			// OPTIONS, TRACE — no write route uses those): without
			// it, this write is not protected.
			writeAdminError(w, &adminError{status: http.StatusForbidden,
				Error: "privilege admin: writes need session.Manager.CSRF in front of the admin handler"})
			return
		}
		status, body, err := f(r)
		if err != nil {
			writeAdminError(w, err)
			return
		}
		if body == nil {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, body)
	})
}

// guard asks the engine whether the session's user may do action on
// resource: nil when allowed, else the answer (401 no user, 403 denied,
// 503 when the engine cannot decide).
func (a *admin) guard(r *http.Request, resource, action string) *adminError {
	p, ok := session.PrincipalFromContext(r.Context())
	if !ok || p.UserID == "" {
		return &adminError{status: http.StatusUnauthorized, Error: "privilege admin: not logged in"}
	}
	d, err := a.e.Check(r.Context(), Request{Subject: p.UserID, SubjectAttrs: principalAttrs(p, nil), Resource: resource, Action: action})
	if err != nil {
		return &adminError{status: http.StatusServiceUnavailable, Error: "privilege admin: cannot decide: " + d.Reason}
	}
	if !d.Allowed {
		return &adminError{status: http.StatusForbidden, Error: "privilege admin: " + action + " " + resource + " denied: " + d.Reason}
	}
	return nil
}

// bind is the second guard of a write that hands out or takes away a
// role — a grant, a revoke, a parent link: write on
// "privilege/bind/<role>". The route's guard decides whom (grants/<user>)
// or which role is edited (roles/<id>); this one decides which role, so
// that a narrow admin cannot grant itself, or link a role it holds
// under, a role that rules more than it does (Kubernetes' "bind" verb).
func (a *admin) bind(r *http.Request, role string) *adminError {
	return a.guard(r, "privilege/bind/"+role, adminWrite)
}

func writeAdminError(w http.ResponseWriter, e *adminError) {
	writeJSON(w, e.status, e)
}
