package integration_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// The browser rules (docs/design.md#browsers) in a real browser: headless Chromium (Debian's chromium
// package) opens attacker pages served by the test on another loopback
// origin and on a name rebound to 127.0.0.1, and a page of an allowed
// origin. The fake Notion's own record, /-/status and /metrics, read by the
// test process, say what reached Notion and what changed.

// chromiumPath finds the Chromium binary; its absence fails the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("headless Chromium is needed for the browser tests (docs/design.md#browsers) and is not on PATH: " +
		"install the Debian package chromium (apt-get install -y chromium); .ci/run does")
	return ""
}

// startBrowser starts one headless Chromium for the test, in which
// evil.test (a DNS rebinding already done) and allowed.test (a name in
// allowed_hosts) resolve to 127.0.0.1. extra options come last (a proxy
// server instead of none).
func startBrowser(t *testing.T, ctx context.Context, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox, // the tests run as root
		chromedp.Flag("host-resolver-rules", "MAP evil.test 127.0.0.1, MAP "+allowedHost+" 127.0.0.1"),
		chromedp.Flag("disable-features", "HttpsUpgrades,HttpsFirstBalancedModeAutoEnable"),
		chromedp.Flag("no-proxy-server", true),
		chromedp.WindowSize(1000, 900),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return browserCtx
}

// servePage serves a blank HTML page on addr (host:0) and returns its
// origin.
func servePage(t *testing.T, addr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><title>page</title><body></body>")
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// inTab opens url in a new tab and evaluates js there, awaiting its
// promise, into a T.
func inTab[T any](t *testing.T, browser context.Context, url, js string) T {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser)
	defer cancel()
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("in %s: %v", url, err)
	}
	return v
}

// probeJS runs every way a page has to send a request (fetch with and
// without CORS, a form POST, sendBeacon, <img>, <script>) against each
// target of the proxy at once, and reports what the page could see.
const probeJS = `(async (proxy, targets) => {
  const limit = (p, what) => Promise.race([p, new Promise(r => setTimeout(() => r({how: what, timeout: true}), 5000))]);
  const body = JSON.stringify({parent: {page_id: "59833787-2cf9-4fdf-8782-e53db20768a5"}, properties: {}});
  const probes = [];
  for (const t of targets) {
    const u = proxy + t.path;
    const tag = (how, r) => Object.assign({how, path: t.path}, r);
    probes.push(limit((async () => {
      try {
        const init = t.method === "GET" ? {} : {method: t.method, body, headers: {"content-type": "application/json"}};
        const r = await fetch(u, init);
        return tag("fetch", {status: r.status, text: await r.text()});
      } catch (e) { return tag("fetch", {error: String(e)}); }
    })(), "fetch"));
    probes.push(limit((async () => {
      try {
        const init = t.method === "GET" ? {mode: "no-cors"} : {method: t.method, body, mode: "no-cors"};
        const r = await fetch(u, init);
        return tag("fetch no-cors", {type: r.type, status: r.status, text: await r.text()});
      } catch (e) { return tag("fetch no-cors", {error: String(e)}); }
    })(), "fetch no-cors"));
    probes.push(limit(new Promise(res => {
      const name = "f" + Math.random();
      const frame = document.createElement("iframe");
      frame.name = name;
      document.body.appendChild(frame);
      const form = document.createElement("form");
      form.method = "POST"; form.action = u; form.target = name; form.enctype = "text/plain";
      const input = document.createElement("input");
      input.name = '{"a":"'; input.value = '"}';
      form.appendChild(input);
      document.body.appendChild(form);
      frame.onload = () => {
        let text = null;
        try { text = frame.contentDocument.body.innerText; } catch (e) {}
        res(tag("form", {loaded: true, text}));
      };
      form.submit();
    }), "form"));
    probes.push(Promise.resolve(tag("beacon", {queued: navigator.sendBeacon(u, body)})));
    probes.push(limit(new Promise(res => {
      const img = new Image();
      img.onload = () => res(tag("img", {loaded: true}));
      img.onerror = () => res(tag("img", {loaded: false}));
      img.src = u;
    }), "img"));
    probes.push(limit(new Promise(res => {
      const s = document.createElement("script");
      s.onload = () => res(tag("script", {loaded: true}));
      s.onerror = () => res(tag("script", {loaded: false}));
      s.src = u;
      document.head.appendChild(s);
    }), "script"));
  }
  return await Promise.all(probes);
})(%s, %s)`

// probesPerTarget is how many requests probeJS makes to each target: one
// per way (a cross-origin fetch with JSON sends only its preflight).
const probesPerTarget = 6

// probeResult is one probe's report from the page.
type probeResult struct {
	How     string  `json:"how"`
	Path    string  `json:"path"`
	Timeout bool    `json:"timeout"`
	Error   string  `json:"error"`
	Status  int     `json:"status"`
	Type    string  `json:"type"`
	Text    *string `json:"text"`
	Loaded  bool    `json:"loaded"`
	Queued  bool    `json:"queued"`
}

// attackTargets are the base-URL calls and admin endpoints an attacker
// page tries.
var attackTargets = []struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}{
	{"GET", "/v1/users/me"},
	{"POST", "/v1/pages"},
	{"POST", "/-/revoke?profile=default"},
	{"POST", "/-/reload"},
	{"GET", "/-/status"},
	{"GET", "/metrics"},
}

// refusedTotal sums notion_proxy_refused_total over reasons.
func refusedTotal(t *testing.T, p *proc, reasons ...string) float64 {
	t.Helper()
	var n float64
	for _, r := range reasons {
		n += metricValue(t, p, `notion_proxy_refused_total{reason="`+r+`"}`)
	}
	return n
}

// checkPageReadNothing fails for a probe whose page could read an answer
// other than the proxy's refusal; the page probed targets targets.
func checkPageReadNothing(t *testing.T, page string, results []probeResult, targets int) {
	t.Helper()
	if len(results) != targets*probesPerTarget {
		t.Errorf("%s: %d probe results, want %d", page, len(results), targets*probesPerTarget)
	}
	refusal := func(s *string) bool {
		return s != nil && (strings.Contains(*s, `"proxy_host_not_allowed"`) || strings.Contains(*s, `"proxy_browser_refused"`))
	}
	for _, r := range results {
		what := page + ": " + r.How + " " + r.Path
		switch r.How {
		case "fetch":
			if r.Error == "" && (r.Status != 403 || !refusal(r.Text)) {
				t.Errorf("%s: the page read %d %v", what, r.Status, deref(r.Text))
			}
		case "fetch no-cors":
			if r.Error == "" && r.Type != "opaque" && (r.Status != 403 || !refusal(r.Text)) {
				t.Errorf("%s: the page read a %s answer %d %v", what, r.Type, r.Status, deref(r.Text))
			}
		case "form":
			if r.Text != nil && !refusal(r.Text) {
				t.Errorf("%s: the page read %q", what, *r.Text)
			}
		case "img", "script":
			if r.Loaded {
				t.Errorf("%s: loaded, so the proxy answered it with success", what)
			}
		}
		if r.Timeout {
			t.Errorf("%s: no outcome within 5 s", what)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "(nothing)"
	}
	return *s
}

func TestNoWebPageCanUseTheProxy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	browser := startBrowser(t, ctx)

	fake, fakeCA := startFake(t, tokA)
	attacker := servePage(t, "127.0.0.2:0")
	app := servePage(t, "127.0.0.3:0")
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"cors: {allowed_origins: ['"+app+"']}\ntoken: "+tokA+"\n")
	_, port, _ := net.SplitHostPort(p.addr)
	targets, err := json.Marshal(attackTargets)
	if err != nil {
		t.Fatal(err)
	}
	want := float64(len(attackTargets) * probesPerTarget)

	t.Run("a page on another loopback origin can use nothing", func(t *testing.T) {
		results := inTab[[]probeResult](t, browser, attacker, fmt.Sprintf(probeJS, `"http://127.0.0.1:`+port+`"`, targets))
		// Beacons are sent after the page's promise settles: wait until
		// every probe has reached the proxy and been refused.
		testwait.Until(t, 10*time.Second, "every probe refused", func() bool {
			return refusedTotal(t, p, "origin_not_allowed", "cross_site") >= want
		})
		checkPageReadNothing(t, "127.0.0.2", results, len(attackTargets))
	})
	t.Run("a page on a rebound name can use nothing", func(t *testing.T) {
		before := refusedTotal(t, p, "host_not_allowed")
		// The page's own origin is http://evil.test:PORT and its name now
		// resolves to 127.0.0.1: its requests are same-origin, with no
		// Origin on GETs, and only the Host check stands in the way.
		// Loading it is the first request refused.
		rebound := "http://evil.test:" + port
		results := inTab[[]probeResult](t, browser, rebound+"/", fmt.Sprintf(probeJS, `"`+rebound+`"`, targets))
		testwait.Until(t, 10*time.Second, "every probe refused", func() bool {
			return refusedTotal(t, p, "host_not_allowed") >= before+1+want
		})
		checkPageReadNothing(t, "evil.test", results, len(attackTargets))
	})
	t.Run("nothing reached Notion and no profile changed", func(t *testing.T) {
		if reqs := fake.Requests(); len(reqs) != 0 {
			t.Errorf("the fake Notion received %d requests, first %s %s", len(reqs), reqs[0].Method, reqs[0].Path)
		}
		if st := p.status(t); st.Profiles[0].State != "ok" || st.Profiles[0].Waiting != 0 {
			t.Errorf("profile %+v, want ok with nothing waiting", st.Profiles[0])
		}
		if n := metricValue(t, p, "notion_proxy_reloads_total"); n != 0 {
			t.Errorf("notion_proxy_reloads_total = %v, want 0", n)
		}
	})
	t.Run("a page of an allowed origin calls Notion and reads the answers", func(t *testing.T) {
		type seen struct {
			Me, Patch      int
			MeID, PatchObj string
			RequestID      string
			Status         string
		}
		js := fmt.Sprintf(`(async (proxy) => {
  const h = {"Notion-Version": "2022-06-28", "Authorization": "Bearer placeholder"};
  const me = await fetch(proxy + "/v1/users/me", {headers: h});
  const meBody = await me.json();
  const patch = await fetch(proxy + "/v1/pages/%s", {method: "PATCH",
    headers: Object.assign({"Content-Type": "application/json"}, h), body: JSON.stringify({properties: {}})});
  const patchBody = await patch.json();
  let status = "read";
  try { await fetch(proxy + "/-/status"); } catch (e) { status = "refused"; }
  return {Me: me.status, MeID: meBody.id, RequestID: me.headers.get("x-notion-request-id") || "",
          Patch: patch.status, PatchObj: patchBody.object, Status: status};
})("http://127.0.0.1:%s")`, pageID, port)
		got := inTab[seen](t, browser, app, js)
		if got.Me != 200 || got.MeID != fakenotion.BotUserID || got.RequestID == "" {
			t.Errorf("GET /v1/users/me: the page read %d id=%q x-notion-request-id=%q", got.Me, got.MeID, got.RequestID)
		}
		if got.Patch != 200 || got.PatchObj != "page" {
			t.Errorf("PATCH /v1/pages: the page read %d object=%q", got.Patch, got.PatchObj)
		}
		if got.Status != "refused" {
			t.Errorf("GET /-/status from the allowed page: %s, want refused (admin endpoints serve no page)", got.Status)
		}
		var methods []string
		for _, r := range fake.Requests() {
			methods = append(methods, r.Method+" "+r.Path)
			if r.Token != tokA {
				t.Errorf("%s %s reached Notion with token %q, want the profile's", r.Method, r.Path, r.Token)
			}
		}
		if strings.Join(methods, ", ") != "GET /v1/users/me, PATCH /v1/pages/"+pageID {
			t.Errorf("the fake saw [%s], want the GET and the PATCH only (preflights answered by the proxy)", strings.Join(methods, ", "))
		}
	})
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Error("the browser test ran out of its 60 s")
	}
}
