package session_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/groundwork-go/groundwork/session"
)

func ExampleNewPasswordAuthenticator() {
	hash, _ := session.HashPassword("correct horse") // stored beside the user
	auth := session.NewPasswordAuthenticator(func(ctx context.Context, username string) ([]byte, *session.Principal, error) {
		if username != "alice" {
			return nil, nil, session.ErrInvalidCredentials // unknown: still costs one bcrypt comparison
		}
		return hash, &session.Principal{UserID: "1", Username: "alice"}, nil
	})
	_, errWrong := auth.Authenticate(context.Background(), "alice", "battery staple")
	_, errUnknown := auth.Authenticate(context.Background(), "mallory", "battery staple")
	p, _ := auth.Authenticate(context.Background(), "alice", "correct horse")
	fmt.Println(errWrong, "|", errUnknown, "|", p.Username)
	// Output: session: invalid credentials | session: invalid credentials | alice
}

func ExampleManager_CSRF() {
	m, _ := session.NewManager(session.NewMemoryStore(), session.AuthenticatorFunc(nil), session.WithCookie("session", false))
	defer m.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /comment", func(w http.ResponseWriter, r *http.Request) {
		// In an html/template: <form method="post">{{ .CSRFField }}...</form>
		io.WriteString(w, session.CSRFToken(r))
	})
	mux.HandleFunc("POST /comment", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "saved") })
	srv := httptest.NewServer(m.CSRF(mux))
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, _ := browser.Get(srv.URL + "/comment")
	token, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	post := func(origin, token string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/comment", strings.NewReader(url.Values{"csrf_token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		resp, _ := browser.Do(req)
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	post(srv.URL, string(token))                // the site's own form
	post(srv.URL, "")                           // no token
	post("https://evil.example", string(token)) // another site
	// Output:
	// 200
	// 403
	// 403
}

func ExampleThrottleError() {
	var err error = &session.ThrottleError{Challenge: true} // as Login returns it
	var te *session.ThrottleError
	switch {
	case errors.Is(err, session.ErrChallengeRequired):
		fmt.Println("show the CAPTCHA")
	case errors.As(err, &te):
		fmt.Println("try again after", te.Until)
	}
	// Output: show the CAPTCHA
}
