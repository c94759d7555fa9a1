package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestEmbeddedDefaults runs the site as `go run` does, on the embedded
// Redis, and logs in with a plain HTTP client: the form's CSRF token is
// required, the dashboard greets the user.
func TestEmbeddedDefaults(t *testing.T) {
	t.Setenv("GROUNDWORK_REDIS_URL", "")
	rdb, closeRedis, err := redisClient()
	if err != nil {
		t.Fatal(err)
	}
	defer closeRedis()
	s, err := newSite(rdb, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := httptest.NewServer(s)
	defer ts.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	page := func(resp *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	form := page(c.Get(ts.URL + "/login"))
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("no CSRF field in the login form:\n%s", form)
	}
	post := func(token string) (*http.Response, error) {
		v := url.Values{"username": {"alice"}, "password": {"wonderland"}}
		if token != "" {
			v.Set("csrf_token", token)
		}
		req, _ := http.NewRequest("POST", ts.URL+"/login", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", ts.URL)
		req.Header.Set("Accept", "text/html")
		return c.Do(req)
	}
	resp, err := post("")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("login without the CSRF token: %s, want 403", resp.Status)
	}
	if body := page(post(m[1])); !strings.Contains(body, "Hello, Alice Liddell") {
		t.Fatalf("after login the site shows:\n%s", body)
	}
}
