package greyroute

import (
	"embed"
	"html/template"
	"log/slog"
	"net/http"
)

// The page is plain files — a template, a script, a style sheet — served
// by the handler itself, so that its CSP can forbid everything else. No
// build step: the script is written for the browser as it is.
//
//go:embed adminui
var adminUI embed.FS

var adminPage = template.Must(template.ParseFS(adminUI, "adminui/index.html"))

// page serves the page, with the services listed; the script loads the
// rest from the API.
func (a *Admin) page(w http.ResponseWriter, r *http.Request) {
	data := struct {
		Services []string
		Error    string
	}{}
	s, err := a.Services(r.Context())
	data.Services = s
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err != nil {
		var status int
		status, data.Error = answerOf("GET /", err)
		w.WriteHeader(status)
	}
	if err := adminPage.ExecuteTemplate(w, "index.html", data); err != nil {
		slog.Default().Error("greyroute admin: render page", "err", err)
	}
}

// asset serves one embedded file of the page.
func asset(name, contentType string) http.HandlerFunc {
	body, err := adminUI.ReadFile("adminui/" + name)
	if err != nil {
		panic("greyroute: embedded admin file missing: " + name) // a build defect, caught by any test
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}
}
