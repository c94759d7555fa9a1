package privilege

// The # Admin section of the package doc, to merge into doc.go (before
// # Errors); kept here, detached from the package clause, so that the
// branches touching doc.go merge without conflicts.
//
// # Admin
//
// Engine.AdminHandler() is an HTTP handler for the rules: a JSON API and
// a small HTML page (html/template and one same-origin script, embedded;
// no build step). Mount it under a prefix, behind session's Middleware
// and CSRF (sm: a *session.Manager):
//
//	mux.Handle("/admin/privilege/", http.StripPrefix("/admin/privilege", e.AdminHandler()))
//	http.ListenAndServe(addr, sm.Middleware(sm.CSRF(mux)))
//
// Paths, relative to the prefix (IDs are path segments, escaped as URLs
// escape them):
//
//	GET /                                      the page
//	GET /api/roles, GET|PUT|DELETE /api/roles/{id}
//	GET|PUT /api/roles/{id}/permissions        PUT {"resource","action"}
//	DELETE /api/roles/{id}/permissions?resource=..&action=..
//	GET /api/users/{user}/grants, PUT|DELETE /api/users/{user}/grants/{role}
//	                                           PUT {"expires": RFC 3339} or {}
//	GET /api/policies, GET|PUT|DELETE /api/policies/{id}
//	POST /api/check                            {"subject","resource","action",
//	                                            "subject_attrs","resource_attrs","env"}
//
// A role body is {"name", "parents", "active"}, a policy body {"name",
// "priority", "effect": "permit"|"deny", "target": {"subjects",
// "resources", "actions"}, "condition", "active"}; "active" defaults to
// true, an "id" in a body must be the path's. PUT answers 200 with what
// was stored, DELETE 204 (also when there was nothing to delete, so a
// retry succeeds), check the Decision {"allowed", "reason", "policy_id",
// "role", "version"}. Policies are listed inactive ones included
// (PolicyLister; a Store without it lists the active ones).
//
// Guard: every call is decided by the engine itself for the session's
// user (session.PrincipalFromContext; none: 401), on the resource
// "privilege/<kind>[/<id>]" with the action "read" (GET, and check) or
// "write" (PUT, DELETE); denied: 403 with the reason. The kinds: page
// (the HTML page), roles and roles/<id>, permissions/<role>,
// grants/<user>, policies and policies/<id>, check. An operator makes
// admins with a role holding privilege/* for read and write:
//
//	st.PutRole(ctx, privilege.Role{ID: "privilege-admin", Active: true})
//	st.PutPermission(ctx, "privilege-admin", privilege.Permission{Resource: "privilege/*", Action: "read"})
//	st.PutPermission(ctx, "privilege-admin", privilege.Permission{Resource: "privilege/*", Action: "write"})
//	st.Grant(ctx, userID, "privilege-admin", time.Time{})
//
// or narrower ones (privilege/grants/* write for a help desk; read alone
// for auditors).
//
// CSRF: a write (any method but GET and HEAD) is served only when
// session.Manager.CSRF checked it (token and Origin), else 403; the page
// sends the token it was rendered with in X-CSRF-Token. Go's
// http.CrossOriginProtection refuses cross-site writes as well. A body
// must be Content-Type application/json (else 415), at most 64 KiB
// (else 413), exactly one JSON value with no unknown field and no NUL
// (else 400).
//
// Errors are JSON {"error", "field"?, "line"?, "column"?}: 400 for a bad
// body, ID or value (ErrInvalid; ErrBadCondition with the condition's
// line and column from ConditionError; an unknown parent names the
// field "parents"), 409 for ErrCycle and ErrConflict, 404 for a role or
// policy the path names that does not exist, 405 (ServeMux) for a method
// a path lacks, 503 when the engine cannot decide or the store is closed,
// 500 (details logged, not sent) for anything else. IDs must be 1 to 256
// bytes of UTF-8 without control characters, and not "." or "..".
//
// The page sets a Content-Security-Policy allowing only its own script
// and style (no inline code) and puts every value in the page as text.
