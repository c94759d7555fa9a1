package privilege

import (
	"embed"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/groundwork-go/groundwork/session"
)

// The page is plain files: a template, a script and a style sheet, served
// by the handler itself so that the CSP can forbid everything else.
//
//go:embed adminui
var adminUI embed.FS

var adminPage = template.Must(template.ParseFS(adminUI, "adminui/index.html"))

// page serves the HTML page, after the same guard as the API (read on
// privilege/page). The CSRF token for the page's writes is in a meta
// element, which the script reads.
func (a *admin) page(w http.ResponseWriter, r *http.Request) {
	if err := a.guard(r, "privilege/page", adminRead); err != nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(err.status)
		_ = adminPage.ExecuteTemplate(w, "refused", err.Error)
		return
	}
	p, _ := session.PrincipalFromContext(r.Context())
	who := p.Username
	if who == "" {
		who = p.UserID
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := adminPage.ExecuteTemplate(w, "index.html", struct{ User, CSRF string }{who, session.CSRFToken(r)}); err != nil {
		slog.Default().Error("privilege admin: render page", "err", err)
	}
}

// asset serves one embedded file of the page.
func (a *admin) asset(name, contentType string) http.HandlerFunc {
	body, err := adminUI.ReadFile("adminui/" + name)
	if err != nil {
		panic("privilege: embedded admin file missing: " + name) // a build defect, caught by any test
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}
}
