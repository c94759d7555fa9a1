package session_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/groundwork-go/groundwork/session"
)

// Example logs a user in and sends a request through the Middleware with
// the session cookie Login set, on the memory store.
func Example() {
	users := session.AuthenticatorFunc(func(_ context.Context, username, password string) (*session.Principal, error) {
		if username == "alice" && password == "secret" {
			return &session.Principal{UserID: "u1", Username: "alice", Roles: []string{"admin"}}, nil
		}
		return nil, session.ErrInvalidCredentials
	})
	m, err := session.NewManager(session.NewMemoryStore(), users,
		session.WithCookie("session", false), // plain http://localhost in this example
		session.WithPublicPaths("/login"))
	if err != nil {
		panic(err)
	}
	defer m.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if _, err := m.Login(w, r, r.FormValue("username"), r.FormValue("password")); err != nil {
			http.Error(w, "wrong username or password", http.StatusUnauthorized)
		}
	})
	mux.HandleFunc("GET /dashboard", func(w http.ResponseWriter, r *http.Request) {
		s, _ := session.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", s.Principal().Username)
	})
	srv := httptest.NewServer(m.Middleware(mux))
	defer srv.Close()

	res, _ := http.PostForm(srv.URL+"/login", map[string][]string{"username": {"alice"}, "password": {"secret"}})
	res.Body.Close()
	cookie := res.Cookies()[0]

	req, _ := http.NewRequest("GET", srv.URL+"/dashboard", nil)
	req.AddCookie(cookie)
	res, _ = http.DefaultClient.Do(req)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(res.StatusCode, string(body))

	res, _ = http.Get(srv.URL + "/dashboard") // no cookie
	res.Body.Close()
	fmt.Println(res.StatusCode)
	// Output:
	// 200 hello alice
	// 401
}
