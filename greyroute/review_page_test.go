package greyroute_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/groundwork-go/groundwork/internal/testbrowser"
	"github.com/groundwork-go/groundwork/internal/testserver"
)

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
