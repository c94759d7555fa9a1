package privilege_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/groundwork-go/groundwork/internal/testbrowser"
	"github.com/groundwork-go/groundwork/privilege"
)

// TestAdminPageBrowser uses the admin page in headless Chromium as an
// operator would: log in, see the roles, create one, grant it, write a
// policy whose condition is wrong and see where, fix it and see it
// listed. Someone without the admin role gets the refusal page.
func TestAdminPageBrowser(t *testing.T) {
	s := newAdminSite(t, privilege.NewMemoryStore(), nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>Log in</title><form method="post" action="/login">` +
			`<input id="u" name="username"><button id="go" type="submit">Log in</button></form>`))
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.Handle("/", s.h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	b := testbrowser.StartBrowser(t, "root")
	b.Do("log in", chromedp.Navigate(srv.URL+"/login"), chromedp.SendKeys(chromedp.CSS("#u"), "root"),
		chromedp.Click(chromedp.CSS("#go")), chromedp.WaitVisible(chromedp.CSS(`#roles tr[data-id="privilege-admin"]`)))
	if got := b.Text("#who"); got != "root" {
		t.Fatalf("signed in as %q", got)
	}
	b.Screenshot("roles")

	b.Do("create a role", chromedp.SendKeys(chromedp.CSS("#role-id"), "dev"), chromedp.SendKeys(chromedp.CSS("#role-name"), "Developer <b>"),
		chromedp.Click(chromedp.CSS("#role-save")), chromedp.WaitVisible(chromedp.CSS(`#roles tr[data-id="dev"]`)))
	if got := b.Text(`#roles tr[data-id="dev"]`); !strings.Contains(got, "Developer <b>") {
		t.Fatalf("the new role's row reads %q, want its name as text", got)
	}

	b.Do("grant it", chromedp.SendKeys(chromedp.CSS("#grant-user"), "bob"), chromedp.Click(chromedp.CSS("#grants-load")),
		chromedp.SendKeys(chromedp.CSS("#grant-role"), "dev"), chromedp.Click(chromedp.CSS("#grant-save")),
		chromedp.WaitVisible(chromedp.CSS("#grants tbody tr")))
	if got := b.Text("#grants tbody"); !strings.Contains(got, "dev") || !strings.Contains(got, "never") {
		t.Fatalf("bob's grants read %q", got)
	}

	b.ExpectConsole("400") // the browser logs the refused PUT
	b.Do("write a bad policy", chromedp.SendKeys(chromedp.CSS("#policy-id"), "weekend"), chromedp.SetValue(chromedp.CSS("#policy-effect"), "deny"),
		chromedp.SendKeys(chromedp.CSS("#policy-actions"), "deploy"), chromedp.SendKeys(chromedp.CSS("#policy-condition"), `env.day == "Sat" ||`),
		chromedp.Click(chromedp.CSS("#policy-save")),
		chromedp.Poll[chromedp.Void](`document.getElementById("policy-error").textContent !== ""`, chromedp.WithPollingTimeout(30*time.Second)))
	if got := b.Text("#policy-error"); !strings.Contains(got, "bad condition: line 1, column 20: ") {
		t.Fatalf("the error reads %q, want the condition's line and column", got)
	}
	inv, err := chromedp.Run(b.Ctx, chromedp.AttributeValue(chromedp.CSS("#policy-condition"), "aria-invalid"))
	if err != nil || inv.Value != "true" {
		t.Fatalf("condition field aria-invalid %v %v, want true", inv, err)
	}
	b.Screenshot("bad-condition")

	b.Do("fix it", chromedp.SetValue(chromedp.CSS("#policy-condition"), `env.day == "Sat"`), chromedp.Click(chromedp.CSS("#policy-save")),
		chromedp.WaitVisible(chromedp.CSS(`#policies tr[data-id="weekend"]`)))
	if got := b.Text("#policy-error"); got != "" {
		t.Fatalf("the error still reads %q", got)
	}
	if got := b.Text(`#policies tr[data-id="weekend"]`); !strings.Contains(got, `env.day == "Sat"`) || !strings.Contains(got, "deny") {
		t.Fatalf("the policy's row reads %q", got)
	}
	b.Screenshot("policy-listed")

	m := testbrowser.StartBrowser(t, "mallory")
	m.ExpectConsole("403")
	m.Do("log in", chromedp.Navigate(srv.URL+"/login"), chromedp.SendKeys(chromedp.CSS("#u"), "mallory"),
		chromedp.Click(chromedp.CSS("#go")), chromedp.WaitVisible(chromedp.CSS("#refused")))
	if got := m.Text("#refused"); !strings.Contains(got, "denied") {
		t.Fatalf("mallory's page reads %q, want the refusal", got)
	}
	m.Screenshot("refused")
}
