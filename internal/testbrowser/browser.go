// Package testbrowser drives a headless Chromium for tests of pages, as a
// person uses them. It is apart from testserver so that modules using
// only the servers (bench/) do not need chromedp.
package testbrowser

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/groundwork-go/groundwork/internal/testserver"
)

// Browser is one person's headless Chromium driven by chromedp, with a
// profile of its own (two Browsers share no cookies). It records the
// console, so that an error, warning or exception no step expected (a
// CSP violation is one) fails the test when it ends.
type Browser struct {
	// Ctx is the chromedp context of the browser's tab, for chromedp.Run
	// and chromedp.Call.
	Ctx context.Context

	t    *testing.T
	name string

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	allowed []string // console texts a step expects (a refused request)
}

// StartBrowser starts a headless Chromium named name (in failures and
// screenshot names), with extra allocator options after the defaults
// (a window of 1200×900); it stops when t ends. Without Chromium the
// test skips, or fails under CI=true (see testserver.Unavailable).
func StartBrowser(t *testing.T, name string, extra ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // the test may run as root
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900))
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	b := &Browser{Ctx: ctx, t: t, name: name}
	if err := chromedp.Do(ctx); err != nil { // start the browser now
		cancelTimeout()
		cancel()
		cancelAlloc()
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

// chromiumPath finds Chromium: $GROUNDWORK_CHROMIUM, else Debian's.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("GROUNDWORK_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	testserver.Unavailable(t, "no Chromium: apt-get install chromium (scripts/test installs it)")
	return ""
}

// Do runs steps, failing the test with a screenshot of what the page
// showed when one fails.
func (b *Browser) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.Ctx, steps...); err != nil {
		b.Screenshot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
}

// Text returns the trimmed text of the element sel.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("%s: text of %s: %v", b.name, sel, err)
	}
	return strings.TrimSpace(s)
}

// Screenshot saves the page as <browser>-<name>.png in the test's
// artifact directory (kept with go test -artifacts).
func (b *Browser) Screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
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

// ExpectConsole allows a console entry containing text: the browser logs
// a refused request (401, 403, 429) as an error, and some steps refuse
// requests on purpose.
func (b *Browser) ExpectConsole(text string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.allowed = append(b.allowed, text)
}

// checkConsole fails the test on a console error, warning or exception
// the steps did not expect.
func (b *Browser) checkConsole() {
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
