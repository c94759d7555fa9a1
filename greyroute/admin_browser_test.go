package greyroute_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testbrowser"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/resilience"
)

// TestAdminPageBrowser uses the admin page in headless Chromium as an
// operator would: open it and see the services, the route and the
// instances with their health and breaker state; move the rollout slider
// and see the rollout change in Redis; search the 1,200 pinned tenants a
// page at a time; pin a tenant with the form; and read the error of a
// pin the tenant's schema does not allow, and of a bad version name.
func TestAdminPageBrowser(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	for _, in := range []greyroute.Instance{
		{ID: "a1", Service: "orders", Version: "v1", Addr: "10.0.0.1:8080", Weight: 2},
		{ID: "a2", Service: "orders", Version: "v1", Addr: "10.0.0.2:8080", Weight: 2},
		{ID: "b1", Service: "orders", Version: "v2", Addr: "10.0.1.1:8080"},
		{ID: "c1", Service: "billing", Version: "v7", Addr: "10.0.2.1:8080"},
	} {
		must(t, a.Register(ctx, in, time.Hour))
	}
	must(t, a.SetStable(ctx, "orders", "v1"))
	must(t, a.SetRollout(ctx, "orders", greyroute.Rollout{To: "v2", Percent: 5}))
	must(t, a.RequireSchema(ctx, "orders", "v2", 4))
	must(t, a.SetHealth(ctx, "orders", "a2", 30))
	for i := range 1200 {
		must(t, a.Pin(ctx, fmt.Sprintf("tenant-%04d", i), "orders", "v1"))
	}

	// A Router whose breaker of b1 opened, reported for the page.
	flushed := make(reports, 1)
	r, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithRouterID("router-7"), greyroute.WithReportHook(flushed.hook),
		greyroute.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}))
	l.rev(t, "orders", revOf(t, a, "orders"))
	must(t, a.SetSchema(ctx, "canary", 4))
	must(t, a.Pin(ctx, "canary", "orders", "v2")) // a tenant sent to b1
	l.rev(t, "orders", revOf(t, a, "orders"))
	inst, err := r.Pick(ctx, "canary", "orders")
	must(t, err)
	r.Done(inst, errors.New("boom"), time.Millisecond)
	flushed.wait(t, "b1's open breaker")

	// The user's authentication in front: a cookie set by a login page.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "op", Value: "yes", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, "/admin/grey/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	// gate, when set, holds the page's reloads of the orders service until
	// closed, telling arrived: to move the slider during one.
	var gate atomic.Pointer[chan struct{}]
	arrived := make(chan struct{}, 1)
	held := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if g := gate.Load(); g != nil && r.Method == "GET" && r.URL.Path == "/api/services/orders" {
				select {
				case arrived <- struct{}{}:
				default:
				}
				<-*g
			}
			next.ServeHTTP(w, r)
		})
	}
	mux.Handle("/admin/grey/", http.StripPrefix("/admin/grey", operatorsOnly(held(a.Handler()))))
	web := httptest.NewServer(mux)
	t.Cleanup(web.Close)

	b := testbrowser.StartBrowser(t, "operator")
	b.Do("open the page", chromedp.Navigate(web.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`#instances tr[data-id="c1"]`)), // the first service
		chromedp.Click(chromedp.CSS(`button.service[data-service="orders"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#instances tr[data-id="b1"]`)))
	if got := b.Text("#services"); !strings.Contains(got, "billing") || !strings.Contains(got, "orders") {
		t.Fatalf("services listed: %q", got)
	}
	for sel, want := range map[string][]string{
		`#instances tr[data-id="a1"]`:     {"a1", "v1", "10.0.0.1:8080", "2", "100", "closed"},
		`#instances tr[data-id="a2"]`:     {"a2", "30"},
		`#instances tr[data-id="b1"]`:     {"b1", "v2", "10.0.1.1:8080", "open (router-7"},
		`#versions tr[data-version="v1"]`: {"stable", "none", "2", "1200"},
		`#versions tr[data-version="v2"]`: {"rollout", "4", "1"},
	} {
		got := b.Text(sel)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Fatalf("%s reads %q, want %q in it", sel, got, w)
			}
		}
	}
	if got := b.Text("#rollout-value"); got != "5%" {
		t.Fatalf("the slider shows %q, want 5%%", got)
	}
	if got := b.Text("#pins-info"); got != "1–50 of 1201" {
		t.Fatalf("pins info %q", got)
	}
	if n := rows(t, b, "#pins tbody tr"); n != 50 {
		t.Fatalf("%d pin rows shown, want one page of 50", n)
	}
	b.Screenshot("service")

	b.Do("move the rollout slider three steps right",
		chromedp.SendKeys(chromedp.CSS("#rollout-slider"), kb.ArrowRight+kb.ArrowRight+kb.ArrowRight),
		chromedp.Poll[chromedp.Void](`document.getElementById("status").textContent === "Rollout of orders: 8% to v2"`, chromedp.WithPollingTimeout(patience)))
	tb, err := a.Snapshot(ctx, "orders")
	must(t, err)
	if tb.RolloutTo != "v2" || tb.RolloutBP != 800 {
		t.Fatalf("after the slider: rollout to %q at %d bp, want v2 at 800", tb.RolloutTo, tb.RolloutBP)
	}
	b.Screenshot("rollout-8")

	// The slider moves again while the page reloads after a write: the
	// reload must neither move it back nor lose the newer value.
	g := make(chan struct{})
	release := sync.OnceFunc(func() { gate.Store(nil); close(g) })
	t.Cleanup(release) // before the server's Close, which waits for the held request, should the test fail
	gate.Store(&g)
	b.Do("move the slider to 9", chromedp.SendKeys(chromedp.CSS("#rollout-slider"), kb.ArrowRight))
	select {
	case <-arrived: // the reload after the write of 9 is held
	case <-time.After(patience):
		t.Fatal("the page did not reload after the write of 9")
	}
	b.Do("move the slider to 10 during the reload", chromedp.SendKeys(chromedp.CSS("#rollout-slider"), kb.ArrowRight),
		chromedp.Poll[chromedp.Void](`document.getElementById("rollout-slider").value === "10"`, chromedp.WithPollingTimeout(patience)))
	release()
	b.Do("see 10% written", chromedp.Poll[chromedp.Void](`document.getElementById("status").textContent === "Rollout of orders: 10% to v2"`,
		chromedp.WithPollingTimeout(patience)))
	tb, err = a.Snapshot(ctx, "orders")
	must(t, err)
	if tb.RolloutBP != 1000 {
		t.Fatalf("after moving the slider during a reload: %d bp, want 1000", tb.RolloutBP)
	}
	if got := b.Text("#rollout-value"); got != "10%" {
		t.Fatalf("the slider shows %q, want 10%%", got)
	}

	b.Do("search the pins", chromedp.SendKeys(chromedp.CSS("#pin-search"), "tenant-011"),
		chromedp.Poll[chromedp.Void](`document.getElementById("pins-info").textContent === "1–10 of 10"`, chromedp.WithPollingTimeout(patience)))
	if got := b.Text("#pins tbody"); !strings.Contains(got, "tenant-0110") || !strings.Contains(got, "tenant-0119") {
		t.Fatalf("search results %q", got)
	}

	b.Do("pin a tenant", chromedp.SendKeys(chromedp.CSS("#pin-tenant"), "acme"), chromedp.SendKeys(chromedp.CSS("#pin-version"), "v1"),
		chromedp.Click(chromedp.CSS("#pin-set")), chromedp.WaitVisible(chromedp.CSS(`#pins tr[data-tenant="acme"]`)))
	tb, err = a.Snapshot(ctx, "orders")
	must(t, err)
	if tb.Pins["acme"] != "v1" {
		t.Fatalf("acme's pin in Redis: %q", tb.Pins["acme"])
	}
	b.Screenshot("pinned")

	b.ExpectConsole("409") // the browser logs the refused PUT
	b.Do("pin a tenant whose schema is too old", chromedp.SetValue(chromedp.CSS("#pin-tenant"), "initech"),
		chromedp.SetValue(chromedp.CSS("#pin-version"), "v2"), chromedp.Click(chromedp.CSS("#pin-set")),
		chromedp.Poll[chromedp.Void](`document.getElementById("pin-error").textContent !== ""`, chromedp.WithPollingTimeout(patience)))
	if got := b.Text("#pin-error"); !strings.Contains(got, "the tenant's schema is 0, the version requires 4") {
		t.Fatalf("the pin error reads %q", got)
	}
	b.Screenshot("pin-refused")

	b.ExpectConsole("400")
	b.Do("set a stable version with a brace", chromedp.SetValue(chromedp.CSS("#stable-input"), "v{3}"),
		chromedp.Click(chromedp.CSS("#stable-set")),
		chromedp.Poll[chromedp.Void](`document.getElementById("route-error").textContent !== ""`, chromedp.WithPollingTimeout(patience)))
	if got := b.Text("#route-error"); !strings.Contains(got, `version "v{3}" contains a brace`) {
		t.Fatalf("the route error reads %q", got)
	}
	b.Screenshot("bad-version")
	tb, err = a.Snapshot(ctx, "orders")
	must(t, err)
	if tb.Stable != "v1" || tb.Pins["initech"] != "" {
		t.Fatalf("a refused write changed the table: stable %q, initech %q", tb.Stable, tb.Pins["initech"])
	}
}

// operatorsOnly stands for the user's authentication: the op cookie.
func operatorsOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("op"); err != nil || c.Value != "yes" {
			http.Error(w, "log in first", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// rows counts the elements matching sel.
func rows(t *testing.T, b *testbrowser.Browser, sel string) int {
	t.Helper()
	n, err := chromedp.Run(b.Ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
