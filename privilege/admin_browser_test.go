package privilege_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/groundwork-go/groundwork/privilege"
)

// TestAdminPageBrowser uses the admin page in headless Chromium as an
// operator would: log in, see the roles, create one, grant it, write a
// policy whose condition is wrong and see where, fix it and see it
// listed. Someone without the admin role gets the refusal page.
func TestAdminPageBrowser(t *testing.T) {
	chromium := chromiumPath(t)
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

	b := newAdminBrowser(t, chromium, "root")
	b.do("log in", chromedp.Navigate(srv.URL+"/login"), chromedp.SendKeys(chromedp.CSS("#u"), "root"),
		chromedp.Click(chromedp.CSS("#go")), chromedp.WaitVisible(chromedp.CSS(`#roles tr[data-id="privilege-admin"]`)))
	if got := b.text("#who"); got != "root" {
		t.Fatalf("signed in as %q", got)
	}
	b.screenshot("roles")

	b.do("create a role", chromedp.SendKeys(chromedp.CSS("#role-id"), "dev"), chromedp.SendKeys(chromedp.CSS("#role-name"), "Developer <b>"),
		chromedp.Click(chromedp.CSS("#role-save")), chromedp.WaitVisible(chromedp.CSS(`#roles tr[data-id="dev"]`)))
	if got := b.text(`#roles tr[data-id="dev"]`); !strings.Contains(got, "Developer <b>") {
		t.Fatalf("the new role's row reads %q, want its name as text", got)
	}

	b.do("grant it", chromedp.SendKeys(chromedp.CSS("#grant-user"), "bob"), chromedp.Click(chromedp.CSS("#grants-load")),
		chromedp.SendKeys(chromedp.CSS("#grant-role"), "dev"), chromedp.Click(chromedp.CSS("#grant-save")),
		chromedp.WaitVisible(chromedp.CSS("#grants tbody tr")))
	if got := b.text("#grants tbody"); !strings.Contains(got, "dev") || !strings.Contains(got, "never") {
		t.Fatalf("bob's grants read %q", got)
	}

	b.expectConsole("400") // the browser logs the refused PUT
	b.do("write a bad policy", chromedp.SendKeys(chromedp.CSS("#policy-id"), "weekend"), chromedp.SetValue(chromedp.CSS("#policy-effect"), "deny"),
		chromedp.SendKeys(chromedp.CSS("#policy-actions"), "deploy"), chromedp.SendKeys(chromedp.CSS("#policy-condition"), `env.day == "Sat" ||`),
		chromedp.Click(chromedp.CSS("#policy-save")),
		chromedp.Poll[chromedp.Void](`document.getElementById("policy-error").textContent !== ""`, chromedp.WithPollingTimeout(30*time.Second)))
	if got := b.text("#policy-error"); !strings.Contains(got, "bad condition: line 1, column 20: ") {
		t.Fatalf("the error reads %q, want the condition's line and column", got)
	}
	inv, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS("#policy-condition"), "aria-invalid"))
	if err != nil || inv.Value != "true" {
		t.Fatalf("condition field aria-invalid %v %v, want true", inv, err)
	}
	b.screenshot("bad-condition")

	b.do("fix it", chromedp.SetValue(chromedp.CSS("#policy-condition"), `env.day == "Sat"`), chromedp.Click(chromedp.CSS("#policy-save")),
		chromedp.WaitVisible(chromedp.CSS(`#policies tr[data-id="weekend"]`)))
	if got := b.text("#policy-error"); got != "" {
		t.Fatalf("the error still reads %q", got)
	}
	if got := b.text(`#policies tr[data-id="weekend"]`); !strings.Contains(got, `env.day == "Sat"`) || !strings.Contains(got, "deny") {
		t.Fatalf("the policy's row reads %q", got)
	}
	b.screenshot("policy-listed")

	m := newAdminBrowser(t, chromium, "mallory")
	m.expectConsole("403")
	m.do("log in", chromedp.Navigate(srv.URL+"/login"), chromedp.SendKeys(chromedp.CSS("#u"), "mallory"),
		chromedp.Click(chromedp.CSS("#go")), chromedp.WaitVisible(chromedp.CSS("#refused")))
	if got := m.text("#refused"); !strings.Contains(got, "denied") {
		t.Fatalf("mallory's page reads %q, want the refusal", got)
	}
	m.screenshot("refused")
}

// chromiumPath finds Debian's Chromium; without it the test skips, or
// fails under CI=true (as examples/loginsite's browser tests do).
func chromiumPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("GROUNDWORK_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium: apt-get install chromium (scripts/test installs it)")
	}
	t.Skip("no Chromium: apt-get install chromium")
	return ""
}

// adminBrowser is one person's headless Chromium with its own profile,
// recording the console so that an unexpected error fails the test.
type adminBrowser struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	allowed []string
}

func newAdminBrowser(t *testing.T, chromium, name string) *adminBrowser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	b := &adminBrowser{t: t, name: name, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: start Chromium: %v", name, err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
		<-done
		b.checkConsole()
	})
	return b
}

func (b *adminBrowser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
}

func (b *adminBrowser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("%s: text of %s: %v", b.name, sel, err)
	}
	return strings.TrimSpace(s)
}

// screenshot saves the page as <browser>-<name>.png in the test's
// artifact directory (kept with go test -artifacts).
func (b *adminBrowser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("%s: screenshot %s: %v", b.name, name, err)
		return
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		b.t.Errorf("%s: screenshot %s is not a PNG", b.name, name)
	}
	if err := os.WriteFile(filepath.Join(b.t.ArtifactDir(), b.name+"-"+name+".png"), png, 0o644); err != nil {
		b.t.Error(err)
	}
}

func (b *adminBrowser) expectConsole(text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.allowed = append(b.allowed, text)
}

// checkConsole fails the test on a console error, warning or exception
// no step expected (a CSP violation is one).
func (b *adminBrowser) checkConsole() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if m.Type != chromedp.ConsoleError && !m.IsException() && m.Type != chromedp.ConsoleWarning {
			continue
		}
		expected := false
		for _, a := range b.allowed {
			expected = expected || strings.Contains(m.Text, a)
		}
		if !expected {
			b.t.Errorf("%s: console %s", b.name, m)
		}
	}
}
