package integration_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// A real browser's requests without Fetch Metadata (docs/design.md#browsers):
// headless Chromium sends Sec-Fetch-Site only to trustworthy URLs, so its
// requests to http://allowed.test:PORT (a name in allowed_hosts) and to
// http://api.notion.com through the proxy as its HTTP proxy carry, for an
// <img>, a <script> or a no-cors GET fetch, neither Origin nor
// Sec-Fetch-Site. The attacker page is on 127.0.0.2, which Chromium never
// sends through a proxy (its implicit bypass of loopback).

// notionTargets are the calls to Notion an attacker page tries.
var notionTargets = []struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}{
	{"GET", "/v1/users/me"},
	{"POST", "/v1/pages"},
}

// reasonsAll are every reason of notion_proxy_refused_total but the Host
// check's.
var reasonsAll = []string{"origin_not_allowed", "cross_site", "browser_user_agent"}

// probeNotion opens the attacker page in browser, probes base + each of
// notionTargets in every way, waits until the proxy refused them all, and
// checks the page read nothing, Notion saw nothing and the profile is
// unchanged.
func probeNotion(t *testing.T, browser context.Context, p *proc, fake *fakenotion.Server, attacker, base string) {
	t.Helper()
	targets, err := json.Marshal(notionTargets)
	if err != nil {
		t.Fatal(err)
	}
	results := inTab[[]probeResult](t, browser, attacker, fmt.Sprintf(probeJS, `"`+base+`"`, targets))
	want := float64(len(notionTargets) * probesPerTarget)
	// Beacons are sent after the page's promise settles: wait until every
	// probe has reached the proxy and been refused or sent to Notion.
	testwait.Until(t, 10*time.Second, "every probe refused or sent to Notion", func() bool {
		return refusedTotal(t, p, reasonsAll...)+float64(len(fake.Requests())) >= want
	})
	checkPageReadNothing(t, attacker, results, len(notionTargets))
	if n := metricValue(t, p, `notion_proxy_refused_total{reason="browser_user_agent"}`); n < 3 {
		t.Errorf("notion_proxy_refused_total{reason=browser_user_agent} = %v, want the <img>, the <script> and the no-cors GET at least", n)
	}
	if reqs := fake.Requests(); len(reqs) != 0 {
		t.Errorf("the fake Notion received %d requests, first %s %s", len(reqs), reqs[0].Method, reqs[0].Path)
	}
	if st := p.status(t); st.Profiles[0].State != "ok" || st.Profiles[0].Waiting != 0 {
		t.Errorf("profile %+v, want ok with nothing waiting", st.Profiles[0])
	}
}

func TestPageCannotUseAnAllowedHostNameInChromium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	browser := startBrowser(t, ctx)
	fake, fakeCA := startFake(t, tokA)
	attacker := servePage(t, "127.0.0.2:0")
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"allowed_hosts: ["+allowedHost+"]\ntoken: "+tokA+"\n")
	_, port, _ := net.SplitHostPort(p.addr)
	probeNotion(t, browser, p, fake, attacker, "http://"+allowedHost+":"+port)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("the browser test ran out of its 60 s")
	}
}

func TestPageCannotUseTheProxyAsItsBrowsersHTTPProxyInChromium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fake, fakeCA := startFake(t, tokA)
	attacker := servePage(t, "127.0.0.2:0")
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n")
	// notion.com is on Chromium's HSTS preload list: by default Chromium
	// sends http://api.notion.com as https, through an intercepted tunnel
	// where it sends Fetch Metadata (and does not trust the proxy's CA).
	// With HSTS tracking prevention (HstsTopLevelNavigationsOnly), as in a
	// browser without that preload entry, a page's subresources go as plain
	// HTTP, absolute URIs to the proxy, with no Fetch Metadata.
	browser := startBrowser(t, ctx,
		chromedp.Flag("no-proxy-server", false),
		chromedp.ProxyServer(p.baseURL()),
		chromedp.Flag("enable-features", "HstsTopLevelNavigationsOnly"))
	probeNotion(t, browser, p, fake, attacker, "http://api.notion.com")
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("the browser test ran out of its 60 s")
	}
}
