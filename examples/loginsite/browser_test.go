package main

import (
	"net/url"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/groundwork-go/groundwork/internal/testbrowser"
)

// browser is one person's browser (testbrowser.Browser: its own Chromium
// process and profile, so that two browsers share no cookies), with the
// site's own steps.
type browser struct {
	*testbrowser.Browser
	t    *testing.T
	name string
}

// newBrowser starts a headless Chromium that trusts the test server's
// self-signed certificate, so that the site runs on HTTPS with Secure
// __Host- cookies, as it would in production.
func newBrowser(t *testing.T, name string) *browser {
	b := testbrowser.StartBrowser(t, name, chromedp.Flag("ignore-certificate-errors", true), chromedp.WindowSize(1100, 800))
	return &browser{Browser: b, t: t, name: name}
}

// path returns the path of the page's URL.
func (b *browser) path() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.Ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("%s: location: %v", b.name, err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatalf("%s: location %q: %v", b.name, loc, err)
	}
	return u.Path
}

// cookies returns the browser's cookies.
func (b *browser) cookies() []*network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.Ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		b.t.Fatalf("%s: cookies: %v", b.name, err)
	}
	return res.Cookies
}
