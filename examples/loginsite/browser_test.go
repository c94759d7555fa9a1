package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// browser is one person's browser: its own Chromium process and profile
// directory, so that two browsers share no cookies.
type browser struct {
	t    *testing.T
	name string
	ctx  context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	allowed []string // console texts a step expects (a refused request)
}

// chromiumPath finds Debian's Chromium; without it the test skips, or
// fails under CI=true.
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

// newBrowser starts a headless Chromium driven by chromedp. It trusts the
// test server's self-signed certificate, so that the site runs on HTTPS
// with Secure __Host- cookies, as it would in production.
func newBrowser(t *testing.T, name string) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // the test may run as root
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.WindowSize(1100, 800),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	b := &browser{t: t, name: name, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil { // start the browser now
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

// do runs steps, failing the test with what the page showed when one
// fails.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.screenshot("failed-" + what)
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
}

// text returns the text of the element sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("%s: text of %s: %v", b.name, sel, err)
	}
	return strings.TrimSpace(s)
}

// path returns the path of the page's URL.
func (b *browser) path() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("%s: location: %v", b.name, err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatalf("%s: location %q: %v", b.name, loc, err)
	}
	return u.Path
}

// screenshot saves the page as name.png in the test's artifact directory
// (kept with go test -artifacts).
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("%s: screenshot %s: %v", b.name, name, err)
		return
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		b.t.Errorf("%s: screenshot %s is not a PNG", b.name, name)
	}
	file := filepath.Join(b.t.ArtifactDir(), b.name+"-"+name+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Error(err)
	}
}

// cookies returns the browser's cookies.
func (b *browser) cookies() []*network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		b.t.Fatalf("%s: cookies: %v", b.name, err)
	}
	return res.Cookies
}

// expectConsole allows a console entry containing text: the browser logs
// a refused request (403, 401, 429) as an error, and some steps refuse
// requests on purpose.
func (b *browser) expectConsole(text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.allowed = append(b.allowed, text)
}

// checkConsole fails the test on a console error or exception the steps
// did not expect.
func (b *browser) checkConsole() {
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
