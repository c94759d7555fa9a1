package greyroute_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/groundwork-go/groundwork/greyroute"
	"github.com/groundwork-go/groundwork/internal/testbrowser"
	"github.com/groundwork-go/groundwork/internal/testserver"
	"github.com/groundwork-go/groundwork/resilience"
)

// xss is markup that runs script if it is ever parsed as HTML.
const xss = `<img/src=x/onerror=window.pwned=1>`

// TestReviewPageHostileNames: every name that reaches the admin page —
// service, version, instance ID, address, tenant, the reporting Router's
// ID, an error echoing a bad name — is shown as text: no element is made
// from it and no script runs (the console stays clean: no CSP refusal).
func TestReviewPageHostileNames(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	svc, ver, id := `s`+xss, `v`+xss, `"><svg/onload=window.pwned=2>`
	must(t, a.Register(ctx, greyroute.Instance{ID: id, Service: svc, Version: ver, Addr: `<script>window.pwned=3</script>`,
		Meta: map[string]string{"m": xss}}, time.Hour))
	must(t, a.SetStable(ctx, svc, ver))
	must(t, a.Pin(ctx, `t`+xss, svc, ver))
	r, l := newRouter(t, standalone(t, srv.Addr, nil), greyroute.WithRouterID(`r</td><img/src=x/onerror=window.pwned=4>`),
		greyroute.WithBreaker(resilience.BreakerPolicy{ConsecutiveFailures: 1, OpenTimeout: time.Hour}))
	l.rev(t, svc, revOf(t, a, svc))
	inst, err := r.Pick(ctx, "t", svc)
	must(t, err)
	r.Done(inst, errors.New("boom"), time.Millisecond)
	must(t, r.Close()) // flushes its report, then takes it back: check it while open
	// A report written as the Router wrote it, kept for the page.
	must(t, standalone(t, srv.Addr, nil).HSet(ctx, "greyroute:{"+svc+"}:breakers", id,
		`{"r<img/src=x/onerror=window.pwned=5>":{"state":"open","at":1800000000000}}`).Err())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.Handle("/admin/grey/", http.StripPrefix("/admin/grey", a.Handler()))
	web := httptest.NewServer(mux)
	t.Cleanup(web.Close)
	b := testbrowser.StartBrowser(t, "hostile")
	b.ExpectConsole("400") // the bad pin below
	b.Do("open the page", chromedp.Navigate(web.URL+"/admin/grey/"),
		chromedp.WaitVisible(chromedp.CSS(`#instances tbody tr`)),
		chromedp.WaitVisible(chromedp.CSS(`#pins tbody tr`)),
		chromedp.SetValue(chromedp.CSS("#pin-tenant"), "x"+xss),
		chromedp.SetValue(chromedp.CSS("#pin-version"), "bad{"+xss),
		chromedp.Click(chromedp.CSS("#pin-set")),
		chromedp.Poll[chromedp.Void](`document.getElementById("pin-error").textContent !== ""`, chromedp.WithPollingTimeout(patience)))
	for _, want := range []string{svc, ver, id, `<script>window.pwned=3</script>`, `r<img/src=x/onerror=window.pwned=5>`} {
		if got := b.Text("body"); !strings.Contains(got, want) {
			t.Fatalf("the page does not show %q as text: %q", want, got)
		}
	}
	if got := b.Text("#pin-error"); !strings.Contains(got, xss) {
		t.Fatalf("pin error %q", got)
	}
	injected, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](
		`window.pwned !== undefined || document.querySelectorAll("img, svg, td script").length > 0 || document.scripts.length !== 1`))
	must(t, err)
	if injected {
		t.Fatal("a name was parsed as HTML")
	}
}

// TestReviewPageBadHash: a link to the page whose #fragment is not valid
// percent-encoding (a mangled bookmark, a hostile link) still shows the
// first service, with no uncaught exception.
func TestReviewPageBadHash(t *testing.T) {
	noLeaks(t)
	ctx := context.Background()
	srv := testserver.StartRedis(t, nil)
	a := newAdmin(t, standalone(t, srv.Addr, nil), nil)
	register(t, a, "s", "v1", "a1")
	must(t, a.SetStable(ctx, "s", "v1"))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.Handle("/", a.Handler())
	web := httptest.NewServer(mux)
	t.Cleanup(web.Close)
	b := testbrowser.StartBrowser(t, "bad-hash")
	b.Do("open the page at #%E0", chromedp.Navigate(web.URL+"/#%E0"),
		chromedp.Poll[chromedp.Void](`document.querySelector('#instances tr[data-id="a1"]') !== null`, chromedp.WithPollingTimeout(patience)))
}
