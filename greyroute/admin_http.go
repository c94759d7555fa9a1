package greyroute

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"

	"github.com/groundwork-go/groundwork/internal/pagesec"
)

// Handler returns the Admin's JSON API and its page (the admin page: the
// seed's GreyServiceManageUI), to mount under a prefix of your own. It has
// no login of its own: mount it behind your authentication, and let only
// operators through —
//
//	mux.Handle("/admin/grey/", http.StripPrefix("/admin/grey", requireOperator(admin.Handler())))
//
// where requireOperator is your middleware (session.Manager.Middleware
// plus a privilege check, say). The page is at the mount's root ("/",
// so "/admin/grey/" above) and calls the API relative to it.
//
// The API, each route calling the Admin method named on its right, with
// the JSON body shown:
//
//	GET    api/services                                   → {"services": [names]}
//	GET    api/services/{s}                               → the service: route, versions, instances (404 if never written)
//	GET    api/services/{s}/pins?q=&offset=&limit=        → a page of its pins
//	PUT    api/services/{s}/stable        {"version"}     SetStable
//	PUT    api/services/{s}/rollout       {"to", "percent"} SetRollout
//	PUT    api/services/{s}/fallback      {"version"}     SetFallback ("" removes it)
//	PUT    api/services/{s}/pins/{t}      {"version"}     Pin
//	DELETE api/services/{s}/pins/{t}                      Unpin
//	PUT    api/services/{s}/instances/{id}/health {"score"} SetHealth
//	PUT    api/services/{s}/schema_req/{v} {"min_schema"} RequireSchema
//	GET    api/tenants/{t}/schema                         → {"tenant", "schema"}
//	PUT    api/tenants/{t}/schema         {"version"}     SetSchema
//
// A write answers 204. Errors answer {"error": message} with 400
// (ErrInvalid, a bad body), 404 (ErrNotFound), 409 (ErrSchema), 415 (a
// body that is not application/json), 413 (a body over 16 KiB), 403 (a
// cross-site request), 503 (ErrUnavailable, ErrClosed), 500 otherwise.
// The message of a 500 or of an unreachable Redis is general (the
// details, such as Redis's address, go to the log).
//
// Cross-site request forgery is refused without a session: a write must
// carry its body as Content-Type application/json (a cross-site HTML form
// cannot send that, and a cross-site fetch that does needs a CORS
// preflight, which the handler never grants), and Go's
// http.CrossOriginProtection refuses every write whose Sec-Fetch-Site
// header (or, without it, Origin header) says it comes from another
// origin than the Host. A DELETE has no body; the origin check alone
// guards it.
func (a *Admin) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.page)
	mux.HandleFunc("GET /admin.js", asset("admin.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /admin.css", asset("admin.css", "text/css; charset=utf-8"))

	a.api(mux, "GET /api/services", a.apiServices)
	a.api(mux, "GET /api/services/{s}", a.apiService)
	a.api(mux, "GET /api/services/{s}/pins", a.apiPins)
	a.api(mux, "PUT /api/services/{s}/stable", a.apiStable)
	a.api(mux, "PUT /api/services/{s}/rollout", a.apiRollout)
	a.api(mux, "PUT /api/services/{s}/fallback", a.apiFallback)
	a.api(mux, "PUT /api/services/{s}/pins/{t}", a.apiPin)
	a.api(mux, "DELETE /api/services/{s}/pins/{t}", a.apiUnpin)
	a.api(mux, "PUT /api/services/{s}/instances/{id}/health", a.apiHealth)
	a.api(mux, "PUT /api/services/{s}/schema_req/{v}", a.apiRequire)
	a.api(mux, "GET /api/tenants/{t}/schema", a.apiGetSchema)
	a.api(mux, "PUT /api/tenants/{t}/schema", a.apiSetSchema)

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusForbidden, httpError{Error: "greyroute admin: cross-origin request refused"})
	}))
	return pagesec.Headers(cop.Handler(mux))
}

// apiFunc serves one API call: the JSON body of a success (nil: 204), or
// the error to answer.
type apiFunc func(r *http.Request) (any, error)

// api registers f: its answer as JSON, its error mapped to a status.
func (a *Admin) api(mux *http.ServeMux, pattern string, f apiFunc) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		body, err := f(r)
		switch {
		case err != nil:
			status, msg := answerOf(pattern, err)
			writeJSON(w, status, httpError{Error: msg})
		case body == nil:
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, http.StatusOK, body)
		}
	})
}

// answerOf returns the status and message answering err of the call
// named what. An internal error, or Redis unreachable (its error names
// the server's address), is logged and answered in general terms: the
// page may be shown to more people than the deployment's topology.
func answerOf(what string, err error) (int, string) {
	status := httpStatus(err)
	switch {
	case status == http.StatusInternalServerError:
		slog.Default().Error("greyroute admin: "+what, "err", err)
		return status, "greyroute admin: internal error; see the server's log"
	case errors.Is(err, ErrUnavailable):
		slog.Default().Warn("greyroute admin: "+what, "err", err)
		return status, "greyroute admin: Redis is unreachable; see the server's log"
	}
	return status, err.Error()
}

// httpError is every error answer's body.
type httpError struct {
	Error string `json:"error"`
}

// statusError is an error the handler itself found, with its status.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

// httpStatus maps an Admin's error to its answer's status.
func httpStatus(err error) int {
	var se *statusError
	switch {
	case errors.As(err, &se):
		return se.status
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrSchema):
		return http.StatusConflict
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrClosed),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// maxBody bounds a request body: the largest is a rollout's, tens of bytes.
const maxBody = 16 << 10

// readBody decodes r's JSON body into v (see decodeJSON), refusing any
// other Content-Type and a body over maxBody.
func readBody(r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &statusError{http.StatusUnsupportedMediaType, "greyroute admin: the body must be Content-Type application/json"}
	}
	return decodeJSON(http.MaxBytesReader(nil, r.Body, maxBody), v)
}
