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

// logIn fills the login form as a person does.
func (b *browser) logIn(url, username, password string) {
	b.t.Helper()
	b.do("open the login page", chromedp.Navigate(url+"/login"), chromedp.WaitVisible(chromedp.ID("login-form")))
	b.do("log in as "+username,
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitReady(chromedp.CSS("body > main")),
	)
}

// TestBrowserLoginFlow drives the site in headless Chromium as people use
// it: one logs in and sees the dashboard with a locked-down cookie, a
// forged form post is refused, and logging out everywhere from a second
// browser ends the first browser's session.
func TestBrowserLoginFlow(t *testing.T) {
	ts := startSite(t)
	alice := newBrowser(t, "alice-laptop")

	// A page that needs a login sends a browser to the login form.
	alice.do("open the dashboard", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("login-form")))
	if p := alice.path(); p != "/login" {
		t.Fatalf("a logged-out browser asking for / is at %q, want /login", p)
	}
	alice.screenshot("01-login-form")

	alice.logIn(ts.URL, "alice", "wonderland")
	alice.do("see the dashboard", chromedp.WaitVisible(chromedp.ID("hello")))
	if got := alice.text("#hello"); got != "Hello, Alice Liddell" {
		t.Fatalf("dashboard says %q", got)
	}
	alice.screenshot("02-dashboard")

	// The session cookie: __Host- prefix, Secure, HttpOnly, SameSite=Lax,
	// Path=/, no Domain (host-only), and a session cookie (no expiry).
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
		sessionCookie.Path != "/" || !sessionCookie.Session {
		t.Errorf("session cookie flags: httpOnly=%v secure=%v sameSite=%q path=%q session=%v",
			sessionCookie.HTTPOnly, sessionCookie.Secure, sessionCookie.SameSite, sessionCookie.Path, sessionCookie.Session)
	}

	// A form posted without its CSRF token is refused, and the session
	// lives on.
	alice.do("open the profile", chromedp.Navigate(ts.URL+"/profile"), chromedp.WaitVisible(chromedp.ID("logout-everywhere")))
	alice.screenshot("03-profile")
	alice.expectConsole("403")
	removeToken := `document.querySelector('form[action="/logout-everywhere"] input[name="csrf_token"]').remove(); true`
	if ok, err := chromedp.Run(alice.ctx, chromedp.Evaluate[bool](removeToken)); err != nil || !ok {
		t.Fatalf("remove the form's CSRF token: %v", err)
	}
	resp, err := chromedp.RunResponse(alice.ctx, chromedp.Click(chromedp.ID("logout-everywhere")))
	if err != nil {
		t.Fatalf("post the form without its token: %v", err)
	}
	if resp.Status != http.StatusForbidden {
		t.Fatalf("a post without the CSRF token got %d, want 403", resp.Status)
	}
	alice.screenshot("04-csrf-refused")
	alice.do("still logged in", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("hello")))

	// The same person on a second device (its own browser profile).
	phone := newBrowser(t, "alice-phone")
	phone.logIn(ts.URL, "alice", "wonderland")
	phone.do("see the dashboard", chromedp.WaitVisible(chromedp.ID("hello")))
	phone.do("open the users page", chromedp.Navigate(ts.URL+"/admin"), chromedp.WaitVisible(chromedp.ID("user-alice")))
	if n := phone.text("#user-alice .session-count"); n != "2" {
		t.Errorf("the users page shows %s sessions for alice, want 2 (laptop and phone)", n)
	}
	phone.screenshot("05-admin")

	// Log out everywhere from the phone: the laptop's session is over too.
	phone.do("log out everywhere", chromedp.Navigate(ts.URL+"/profile"), chromedp.WaitVisible(chromedp.ID("logout-everywhere")),
		chromedp.Click(chromedp.ID("logout-everywhere")), chromedp.WaitVisible(chromedp.ID("login-form")))
	alice.do("reload on the laptop", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("login-form")))
	if p := alice.path(); p != "/login" {
		t.Fatalf("after logging out everywhere the laptop is at %q, want the login page", p)
	}
	alice.screenshot("06-logged-out-everywhere")
}

// TestBrowserLockout types a wrong password until the username is locked
// out: then even the right password is refused.
func TestBrowserLockout(t *testing.T) {
	ts := startSite(t)
	b := newBrowser(t, "guesser")
	b.expectConsole("401")
	b.expectConsole("429")
	for i := 0; i < maxFailures; i++ {
		b.logIn(ts.URL, "bob", "not-the-password")
		if got := b.text("#error"); !strings.Contains(got, "Wrong username or password") {
			b.screenshot("unexpected")
			t.Fatalf("attempt %d: the page says %q", i+1, got)
		}
	}
	b.screenshot("01-wrong-password")
	b.logIn(ts.URL, "bob", "builder")
	if got := b.text("#error"); !strings.Contains(got, "Too many failed attempts") {
		t.Fatalf("the right password after %d failures: the page says %q, want a lockout", maxFailures, got)
	}
	b.screenshot("02-locked-out")
}

func cookieNames(cs []*network.Cookie) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return names
}
