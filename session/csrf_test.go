package session_test

import (
	"encoding/base64"
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/groundwork-go/groundwork/session"
)

// csrfSite is a site behind Manager.CSRF: GET /form answers
// CSRFToken, POST /do answers "done". Its clients are ordinary HTTP
// clients with cookie jars, so these tests run unchanged on the real core.
type csrfSite struct {
	*httptest.Server
	m *session.Manager
}

func newCSRFSite(t *testing.T, opts ...session.Option) *csrfSite {
	t.Helper()
	m := throttleManager(t, session.NewMemoryStore(), &users{}, opts...)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, session.CSRFToken(r)) })
	mux.HandleFunc("GET /field", func(w http.ResponseWriter, r *http.Request) {
		template.Must(template.New("").Parse(`<form>{{.}}</form>`)).Execute(w, session.CSRFField(r))
	})
	mux.HandleFunc("POST /do", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "done") })
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if _, err := m.Login(w, r, "alice", "right"); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		io.WriteString(w, "logged in")
	})
	srv := httptest.NewServer(m.CSRF(mux))
	t.Cleanup(srv.Close)
	return &csrfSite{Server: srv, m: m}
}

// browser is one client: its own cookies.
func (s *csrfSite) browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

func (s *csrfSite) token(t *testing.T, c *http.Client) string {
	t.Helper()
	resp, err := c.Get(s.URL + "/form")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || len(b) == 0 {
		t.Fatalf("GET /form: %d %q", resp.StatusCode, b)
	}
	return string(b)
}

// post sends a form to /do with the token (if any) and the headers
// given as name, value pairs (Origin is the site's own unless set).
func (s *csrfSite) post(t *testing.T, c *http.Client, token string, headers ...string) (int, string) {
	t.Helper()
	return s.postTo(t, c, "/do", token, headers...)
}

// postTo is post to path.
func (s *csrfSite) postTo(t *testing.T, c *http.Client, path, token string, headers ...string) (int, string) {
	t.Helper()
	form := url.Values{}
	if token != "" {
		form.Set(session.CSRFFieldName, token)
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.URL)
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestCSRF(t *testing.T) {
	s := newCSRFSite(t, session.WithTrustedOrigins("https://app.example.com"))
	alice, bob := s.browser(t), s.browser(t)
	tok := s.token(t, alice)
	// The token with its first character changed (to another one: a
	// fixed replacement equals the token when it already starts with it).
	garbled := "x" + tok[1:]
	if tok[0] == 'x' {
		garbled = "y" + tok[1:]
	}

	cases := []struct {
		name    string
		c       *http.Client
		token   string
		headers []string
		want    int
	}{
		{"valid", alice, tok, nil, 200},
		{"valid, in the header", alice, "", []string{session.CSRFHeaderName, tok}, 200},
		{"no token", alice, "", nil, 403},
		{"another session's token", bob, tok, nil, 403},
		{"a token but no session", http.DefaultClient, tok, nil, 403},
		{"garbage token", alice, garbled, nil, 403},
		{"foreign Origin", alice, tok, []string{"Origin", "https://evil.example"}, 403},
		{"Origin null", alice, tok, []string{"Origin", "null"}, 403},
		{"own host, https (not this plain-http site)", alice, tok, []string{"Origin", strings.Replace(s.URL, "http:", "https:", 1)}, 403},
		{"no Origin, no Referer", alice, tok, []string{"Origin", ""}, 403},
		{"no Origin, own Referer", alice, tok, []string{"Origin", "", "Referer", s.URL + "/form?x=1"}, 200},
		{"no Origin, foreign Referer", alice, tok, []string{"Origin", "", "Referer", "https://evil.example/" + s.URL}, 403},
		{"trusted Origin", alice, tok, []string{"Origin", "https://APP.example.com:443"}, 200},
	}
	for _, c := range cases {
		code, body := s.post(t, c.c, c.token, c.headers...)
		if code != c.want {
			t.Errorf("%s: %d %q, want %d", c.name, code, body, c.want)
		}
	}
}

// Login gives the logged-in session a new CSRF secret: a token rendered
// before login (which an attacker may have seen, or planted with the
// session) does not verify after it, and the login form's token is
// bound to the anonymous session.
func TestCSRFNewSecretOnLogin(t *testing.T) {
	s := newCSRFSite(t)
	c := s.browser(t)
	before := s.token(t, c)
	if code, body := s.postTo(t, c, "/login", before); code != 200 {
		t.Fatalf("login with the form's token: %d %q", code, body)
	}
	if code, _ := s.post(t, c, before); code != http.StatusForbidden {
		t.Fatalf("a token from before login after it: %d, want 403", code)
	}
	after := s.token(t, c)
	if code, body := s.post(t, c, after); code != 200 {
		t.Fatalf("a token of the logged-in session: %d %q", code, body)
	}
}

// Every render gives a different token, and all of them verify.
func TestCSRFTokensMaskedPerRender(t *testing.T) {
	s := newCSRFSite(t)
	c := s.browser(t)
	seen := map[string]bool{}
	for range 5 {
		seen[s.token(t, c)] = true
	}
	if len(seen) != 5 {
		t.Fatalf("5 renders gave %d distinct tokens", len(seen))
	}
	for tok := range seen {
		if code, body := s.post(t, c, tok); code != 200 {
			t.Fatalf("token %q: %d %q", tok, code, body)
		}
	}
}

func TestCSRFField(t *testing.T) {
	s := newCSRFSite(t)
	c := s.browser(t)
	resp, err := c.Get(s.URL + "/field")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	html := string(b)
	const pre = `<form><input type="hidden" name="csrf_token" value="`
	if !strings.HasPrefix(html, pre) || !strings.HasSuffix(html, `"></form>`) {
		t.Fatalf("CSRFField rendered %q", html)
	}
	tok := strings.TrimSuffix(strings.TrimPrefix(html, pre), `"></form>`)
	if code, body := s.post(t, c, tok); code != 200 {
		t.Fatalf("the field's token: %d %q", code, body)
	}
	if v := resp.Header.Values("Vary"); len(v) == 0 || v[0] != "Cookie" {
		t.Fatalf("Vary = %v, want Cookie: a page with a token must not be shared by caches", v)
	}
}

func TestCSRFFailureHandler(t *testing.T) {
	var got error
	s := newCSRFSite(t, session.WithCSRFFailureHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = session.CSRFFailure(r)
		w.WriteHeader(http.StatusTeapot)
	})))
	if code, _ := s.post(t, s.browser(t), ""); code != http.StatusTeapot {
		t.Fatalf("status %d, want the handler's 418", code)
	}
	if !errors.Is(got, session.ErrCSRF) || !strings.Contains(got.Error(), session.CSRFHeaderName) {
		t.Fatalf("CSRFFailure = %v, want ErrCSRF naming the missing token", got)
	}
}

func TestCSRFOptionsValidated(t *testing.T) {
	for _, o := range []string{"", "app.example.com", "ftp://app.example.com", "https://", "https://a.example/path", "https://a.example?q", "https://u@a.example", "null"} {
		if _, err := session.NewManager(session.NewMemoryStore(), &users{}, session.WithTrustedOrigins(o)); !errors.Is(err, session.ErrInvalid) {
			t.Errorf("WithTrustedOrigins(%q): %v, want ErrInvalid", o, err)
		}
	}
	if _, err := session.NewManager(session.NewMemoryStore(), &users{}, session.WithTrustedOrigins("https://a.example/", "http://b.example:8080")); err != nil {
		t.Errorf("good origins: %v", err)
	}
	if _, err := session.NewManager(session.NewMemoryStore(), &users{}, session.WithCSRFFailureHandler(nil)); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("WithCSRFFailureHandler(nil): %v", err)
	}
}

// The token parser: any string is refused without a panic, unless it is
// a token masked from the secret itself.
func FuzzCSRFToken(f *testing.F) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	other := []byte("fedcba9876543210fedcba9876543210")
	good := session.CSRFMask(secret)
	for _, s := range []string{"", good, session.CSRFMask(other), good[:len(good)-1], good + "A", strings.ToUpper(good),
		strings.Repeat("A", len(good)), strings.Repeat("=", len(good)), "\x00", strings.Repeat("é", len(good)/2)} {
		f.Add(s)
	}
	// oracle is the token format written out: 86 base64url characters of
	// pad || pad XOR secret.
	oracle := func(tok string) bool {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if len(tok) != 86 || err != nil || len(b) != 64 {
			return false
		}
		for i := range 32 {
			if b[i]^b[32+i] != secret[i] {
				return false
			}
		}
		return true
	}
	f.Fuzz(func(t *testing.T, tok string) {
		if got, want := session.CSRFVerify(tok, secret), oracle(tok); got != want {
			t.Fatalf("token %q: verified %v, want %v", tok, got, want)
		}
		if session.CSRFVerify(tok, nil) {
			t.Fatalf("token %q verified against no secret", tok)
		}
	})
}

// Any Origin header is judged without a panic, and only this site's own
// origin (plain http here) or the trusted one gets through.
func FuzzCSRFOrigin(f *testing.F) {
	for _, s := range []string{"http://site.example", "https://site.example", "http://site.example:80", "http://SITE.example",
		"https://other.example", "null", "", "http://site.example.evil", "http://evil/site.example", "http://site.example@evil",
		"https://trusted.example", "http://[::1]:80", "http://%zz", "\x00"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, origin string, overTLS bool) {
		err := session.CSRFCheckOrigin([]string{"https://trusted.example"}, origin, "site.example", overTLS)
		if err != nil {
			if !errors.Is(err, session.ErrCSRF) {
				t.Fatalf("origin %q: %v, want ErrCSRF", origin, err)
			}
			return
		}
		u, perr := url.Parse(origin)
		ok := perr == nil && (strings.EqualFold(u.Hostname(), "trusted.example") && u.Scheme == "https" ||
			strings.EqualFold(u.Hostname(), "site.example") && u.Scheme == map[bool]string{false: "http", true: "https"}[overTLS])
		if !ok {
			t.Fatalf("origin %q (TLS %v) accepted", origin, overTLS)
		}
	})
}
