package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/groundwork-go/groundwork/privilege"
)

// authorization builds a role hierarchy and a CEL policy, guards HTTP
// routes with the engine (decisions cached in-process and in Redis), and
// shows a revoke taking effect on the very next request.
func authorization(ctx context.Context) error {
	fmt.Println("\n== privilege: RBAC with a role hierarchy, ABAC in CEL, cached decisions")
	rdb, done, err := redisClient()
	if err != nil {
		return err
	}
	defer done()
	st := privilege.NewMemoryStore() // privilege.NewPostgresStore(ctx, pool) in production
	defer st.Close()
	for _, r := range []privilege.Role{
		{ID: "employee", Active: true},
		{ID: "developer", Parents: []string{"employee"}, Active: true},
		{ID: "senior", Parents: []string{"developer"}, Active: true},
	} {
		if err := st.PutRole(ctx, r); err != nil {
			return err
		}
	}
	if err := st.PutPermission(ctx, "developer", privilege.Permission{Resource: "repos/*", Action: "push"}); err != nil {
		return err
	}
	if err := st.Grant(ctx, "ann", "senior", time.Time{}); err != nil {
		return err
	}
	err = st.PutPolicy(ctx, privilege.Policy{ID: "frozen", Priority: 10, Effect: privilege.Deny, Active: true,
		Target:    privilege.Target{Resources: []string{"repos/*"}, Actions: []string{"push"}},
		Condition: `resource.frozen = true`})
	fmt.Printf("   a policy whose condition does not compile is refused: %v\n", err)
	err = st.PutPolicy(ctx, privilege.Policy{ID: "frozen", Priority: 10, Effect: privilege.Deny, Active: true,
		Target:    privilege.Target{Resources: []string{"repos/*"}, Actions: []string{"push"}},
		Condition: `has(env.freeze) && env.freeze`})
	if err != nil {
		return err
	}
	// Denies are always audited; here one allow in ten is too.
	audit := privilege.SlogAudit(slog.New(slog.NewTextHandler(io.Discard, nil)))
	e, err := privilege.NewEngine(st, privilege.WithRedis(rdb), privilege.WithAudit(audit, 0.1))
	if err != nil {
		return err
	}
	defer e.Close()

	section("a check says why: the role that permits, through the hierarchy")
	d, err := e.Check(ctx, privilege.Request{Subject: "ann", Resource: "repos/app", Action: "push"})
	if err != nil {
		return err
	}
	fmt.Printf("   ann pushes to repos/app: %v, %s\n", d.Allowed, d.Reason)
	d, err = e.Check(ctx, privilege.Request{Subject: "ann", Resource: "repos/app", Action: "push", Env: map[string]any{"freeze": true}})
	if err != nil {
		return err
	}
	fmt.Printf("   during a freeze: %v, %s\n", d.Allowed, d.Reason)

	section("routes guarded by the engine; a revoke counts on the next request")
	mapper, err := privilege.Routes{{Pattern: "POST /repos/{name}/push", Resource: "repos/{name}", Action: "push"}}.Mapper()
	if err != nil {
		return err
	}
	subject := func(r *http.Request) privilege.Request { // a real service takes the user from session
		req := mapper(r)
		req.Subject = r.Header.Get("X-User")
		return req
	}
	srv := httptest.NewServer(e.Middleware(subject)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "pushed")
	})))
	defer srv.Close()
	push := func() (string, error) {
		req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+"/repos/app/push", nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("X-User", "ann")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body))), err
	}
	for range 2 { // the second answer comes from the decision cache
		out, err := push()
		if err != nil {
			return err
		}
		fmt.Printf("   POST /repos/app/push as ann: %s\n", out)
	}
	if err := st.Revoke(ctx, "ann", "senior"); err != nil {
		return err
	}
	out, err := push()
	if err != nil {
		return err
	}
	fmt.Printf("   after revoking senior: %s\n", out)
	return nil
}
