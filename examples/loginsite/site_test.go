package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/redis/go-redis/v9"

	"github.com/groundwork-go/groundwork/internal/testserver"
)

// startSite serves the site over HTTPS on a real redis-server.
func startSite(t *testing.T) *httptest.Server {
	opts, err := redis.ParseURL(testserver.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	s, err := newSite(rdb, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ts := httptest.NewTLSServer(s)
	t.Cleanup(ts.Close)
	return ts
}

// logIn fills the login form as a person does, passing the challenge
// when the form shows one.
func (b *browser) logIn(url, username, password string) {
	b.t.Helper()
	if !strings.HasSuffix(b.path(), "/login") || !b.has("#login-form") {
		b.Do("open the login page", chromedp.Navigate(url+"/login"), chromedp.WaitVisible(chromedp.ID("login-form")))
	}
	if b.has("#human") {
		b.Do("pass the challenge", chromedp.Click(chromedp.ID("human")))
	}
	b.Do("fill the form",
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), password))
	b.submit("log in as "+username, "#login")
}

// submit clicks the button sel and waits for the page it leads to.
func (b *browser) submit(what, sel string) *network.Response {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.Ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.Screenshot("failed-" + what)
		b.t.Fatalf("%s: %s: %v", b.name, what, err)
	}
	return resp
}

// has reports whether the page has an element matching sel.
func (b *browser) has(sel string) bool {
	b.t.Helper()
	ok, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`document.querySelector(`+"`"+sel+"`"+`) !== null`))
	if err != nil {
		b.t.Fatalf("%s: look for %s: %v", b.name, sel, err)
	}
	return ok
}

// TestBrowserLoginFlow drives the site in headless Chromium as people use
// it: one logs in and sees the dashboard with a locked-down cookie, a
// forged form post is refused, and logging out everywhere from a second
// browser ends the first browser's session.
func TestBrowserLoginFlow(t *testing.T) {
	ts := startSite(t)
	alice := newBrowser(t, "alice-laptop")

	// A page that needs a login sends a browser to the login form.
	alice.Do("open the dashboard", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("login-form")))
	if p := alice.path(); p != "/login" {
		t.Fatalf("a logged-out browser asking for / is at %q, want /login", p)
	}
	alice.Screenshot("01-login-form")

	alice.logIn(ts.URL, "alice", "wonderland")
	alice.Do("see the dashboard", chromedp.WaitVisible(chromedp.ID("hello")))
	if got := alice.Text("#hello"); got != "Hello, Alice Liddell" {
		t.Fatalf("dashboard says %q", got)
	}
	alice.Screenshot("02-dashboard")

	// The session cookie: __Host- prefix, Secure, HttpOnly, SameSite=Lax,
	// Path=/, and host-only (the browser refuses a __Host- cookie with a
	// Domain).
	var sessionCookie *network.Cookie
	for _, c := range alice.cookies() {
		if c.Name == "__Host-session" {
			sessionCookie = c
		}
	}
	if sessionCookie == nil {
		t.Fatalf("no __Host-session cookie in %v", cookieNames(alice.cookies()))
	}
	if !sessionCookie.HTTPOnly || !sessionCookie.Secure || sessionCookie.SameSite != network.CookieSameSiteLax ||
		sessionCookie.Path != "/" {
		t.Errorf("session cookie flags: httpOnly=%v secure=%v sameSite=%q path=%q",
			sessionCookie.HTTPOnly, sessionCookie.Secure, sessionCookie.SameSite, sessionCookie.Path)
	}

	// A form posted without its CSRF token is refused, and the session
	// lives on.
	alice.Do("open the profile", chromedp.Navigate(ts.URL+"/profile"), chromedp.WaitVisible(chromedp.ID("logout-everywhere")))
	alice.Screenshot("03-profile")
	alice.ExpectConsole("403")
	removeToken := `document.querySelector('form[action="/logout-everywhere"] input[name="csrf_token"]').remove(); true`
	if ok, err := chromedp.Run(alice.Ctx, chromedp.Evaluate[bool](removeToken)); err != nil || !ok {
		t.Fatalf("remove the form's CSRF token: %v", err)
	}
	resp := alice.submit("post the form without its token", "#logout-everywhere")
	if resp.Status != http.StatusForbidden {
		t.Fatalf("a post without the CSRF token got %d, want 403", resp.Status)
	}
	alice.Screenshot("04-csrf-refused")
	alice.Do("still logged in", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("hello")))

	// The same person on a second device (its own browser profile), where
	// they ask to be remembered.
	phone := newBrowser(t, "alice-phone")
	phone.Do("open the login page", chromedp.Navigate(ts.URL+"/login"), chromedp.WaitVisible(chromedp.ID("login-form")),
		chromedp.Click(chromedp.ID("remember")))
	phone.logIn(ts.URL, "alice", "wonderland")
	phone.Do("see the dashboard", chromedp.WaitVisible(chromedp.ID("hello")))

	// The phone's browser restarts and its session cookie is gone: the
	// remembered device logs it straight back in.
	if _, err := chromedp.Call(phone.Ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: "__Host-session", URL: ts.URL}); err != nil {
		t.Fatal(err)
	}
	phone.Do("come back later", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("hello")))
	phone.Do("open the profile", chromedp.Navigate(ts.URL+"/profile"), chromedp.WaitVisible(chromedp.ID("devices-alice")))
	if n := phone.count("#devices-alice tr.device"); n != 1 {
		t.Errorf("the profile lists %d remembered devices, want 1 (the phone)", n)
	}
	phone.Do("open the users page", chromedp.Navigate(ts.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("user-alice")))
	// The laptop's, the phone's first (its cookie is gone, the session
	// lives on until it times out) and the one the device started.
	if n := phone.Text("#user-alice .session-count"); n != "3" {
		t.Errorf("the users page shows %s sessions for alice, want 3", n)
	}
	phone.Screenshot("05-admin")

	// Log out everywhere from the phone: the laptop's session is over too.
	phone.Do("open the profile", chromedp.Navigate(ts.URL+"/profile"), chromedp.WaitVisible(chromedp.ID("logout-everywhere")))
	phone.submit("log out everywhere", "#logout-everywhere")
	phone.Do("see the login form", chromedp.WaitVisible(chromedp.ID("login-form")))
	alice.Do("reload on the laptop", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("login-form")))
	if p := alice.path(); p != "/login" {
		t.Fatalf("after logging out everywhere the laptop is at %q, want the login page", p)
	}
	alice.Screenshot("06-logged-out-everywhere")
	// The phone's remembered device was forgotten too.
	phone.Do("reload on the phone", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("login-form")))
}

// count returns how many elements match sel.
func (b *browser) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.Ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+"`"+sel+"`"+`).length`))
	if err != nil {
		b.t.Fatalf("%s: count %s: %v", b.name, sel, err)
	}
	return n
}

// TestBrowserLockout types a wrong password until the username is locked
// out: then even the right password is refused.
func TestBrowserLockout(t *testing.T) {
	ts := startSite(t)
	b := newBrowser(t, "guesser")
	b.ExpectConsole("401")
	b.ExpectConsole("429")
	failures, challenged := 0, false
	for attempt := 1; failures < maxFailures; attempt++ {
		if attempt > 3*maxFailures {
			t.Fatalf("%d attempts and only %d counted failures", attempt, failures)
		}
		b.logIn(ts.URL, "bob", "not-the-password")
		switch got := b.Text("#error"); {
		case strings.Contains(got, "Wrong username or password"):
			failures++
			if failures == 1 {
				b.Screenshot("01-wrong-password")
			}
		case strings.Contains(got, "confirm you are a person") && !challenged:
			// Some failures in, the form asks for the challenge; the
			// next attempts pass it (logIn ticks the box).
			challenged = true
			b.Screenshot("02-challenge")
		default:
			b.Screenshot("unexpected")
			t.Fatalf("attempt %d: the page says %q", attempt, got)
		}
	}
	if !challenged {
		t.Errorf("%d failures and the form never asked for the challenge", failures)
	}
	b.logIn(ts.URL, "bob", "builder")
	if got := b.Text("#error"); !strings.Contains(got, "Too many failed attempts") {
		t.Fatalf("the right password after %d failures: the page says %q, want a lockout", maxFailures, got)
	}
	b.Screenshot("03-locked-out")
}

func cookieNames(cs []*network.Cookie) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return names
}
