package integration_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The browser rules (docs/design.md#browsers) one by one, with Go clients sending exactly the
// headers a browser would; browser_chromium_test.go shows them holding
// in a real browser.

// withHost sends "METHOD path" with the Host line given (none when host is
// nil) on a raw connection in base-URL mode and returns the answer.
func withHost(t *testing.T, p *proc, method, path, proto string, host *string, id string) rawAnswer {
	t.Helper()
	req := fmt.Sprintf("%s %s %s\r\n", method, path, proto)
	if host != nil {
		req += "Host: " + *host + "\r\n"
	}
	req += "X-Test-Call-Id: " + id + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	return exchange(rawConn(t, p), []byte(req), false)
}

func TestHostHeaderMustNameThisMachine(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"allowed_hosts: [notion-proxy.internal, 10.11.12.13]\ntoken: "+tokA+"\n")
	_, port, _ := net.SplitHostPort(p.addr)
	str := func(s string) *string { return &s }
	tests := []struct {
		name  string
		host  *string
		proto string
		ok    bool
	}{
		{"the listen address is allowed", str(p.addr), "HTTP/1.1", true},
		{"localhost is allowed", str("localhost:" + port), "HTTP/1.1", true},
		{"a name under .localhost is allowed", str("app.localhost:" + port), "HTTP/1.1", true},
		{"another 127/8 address is allowed", str("127.0.0.2:" + port), "HTTP/1.1", true},
		{"[::1] is allowed", str("[::1]:" + port), "HTTP/1.1", true},
		{"a name in allowed_hosts is allowed", str("Notion-Proxy.Internal:" + port), "HTTP/1.1", true},
		{"an IP in allowed_hosts is allowed", str("10.11.12.13"), "HTTP/1.1", true},
		{"a rebound name is refused", str("evil.test:" + port), "HTTP/1.1", false},
		{"the Notion host is refused on the base URL", str("api.notion.com"), "HTTP/1.1", false},
		{"a name merely starting with localhost is refused", str("localhost.evil.test:" + port), "HTTP/1.1", false},
		{"an empty Host is refused", str(""), "HTTP/1.1", false},
		{"no Host at all (HTTP/1.0) is refused", nil, "HTTP/1.0", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/v1/users/me", "/-/status", "/metrics", "/-/revoke?profile=default", "/-/reload"} {
				method := "GET"
				if strings.HasPrefix(path, "/-/re") {
					method = "POST"
					if tt.ok {
						continue // allowed admin POSTs are tested elsewhere
					}
				}
				id := fmt.Sprintf("host-%d-%s", i, path)
				a := withHost(t, p, method, path, tt.proto, tt.host, id)
				switch {
				case tt.ok && a.status != 200:
					t.Errorf("%s %s: got %v, want 200", method, path, a)
				case !tt.ok && (a.status != 403 || a.notionCode() != "proxy_host_not_allowed"):
					t.Errorf("%s %s: got %v, want 403 proxy_host_not_allowed", method, path, a)
				}
				if n := len(withID(fake, id)); tt.ok != (n == 1) && path == "/v1/users/me" {
					t.Errorf("%s %s: the fake saw it %d times", method, path, n)
				}
			}
		})
	}
	if st := p.status(t); st.Profiles[0].State != "ok" {
		t.Errorf("after refused /-/revoke calls the profile is %s, want ok", st.Profiles[0].State)
	}
	if got := metricValue(t, p, `notion_proxy_refused_total{reason="host_not_allowed"}`); got != 5*5 {
		t.Errorf("notion_proxy_refused_total{reason=host_not_allowed} = %v, want 25", got)
	}
	if got := metricValue(t, p, "notion_proxy_reloads_total"); got != 0 {
		t.Errorf("notion_proxy_reloads_total = %v after refused /-/reload calls, want 0", got)
	}
	if n := p.countLogs("browser request refused"); n != 4 {
		t.Errorf("%d refusal log lines for 25 refusals from 4 distinct hosts, want 4 (once a minute per host)", n)
	}
}

// browserHeaders are the headers that make a request a web page's.
var browserHeaders = []struct {
	name string
	hdr  map[string]string
	want string // "" = served
}{
	{"no browser header (curl, Go, Python)", nil, ""},
	{"Node's fetch: Sec-Fetch-Mode cors only", map[string]string{"Sec-Fetch-Mode": "cors"}, ""},
	{"Sec-Fetch-Site same-origin without Origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, ""},
	{"Sec-Fetch-Site none (the address bar)", map[string]string{"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"}, ""},
	{"another page's Origin", map[string]string{"Origin": "http://evil.test", "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}, "proxy_browser_refused"},
	{"Origin null (a sandboxed page or a file)", map[string]string{"Origin": "null"}, "proxy_browser_refused"},
	{"Origin alone", map[string]string{"Origin": "http://127.0.0.2:3000"}, "proxy_browser_refused"},
	{"Sec-Fetch-Site cross-site (an image, a script)", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Dest": "image"}, "proxy_browser_refused"},
	{"Sec-Fetch-Site same-site", map[string]string{"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors"}, "proxy_browser_refused"},
}

func TestWebPagesAreRefusedInEveryWayIn(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"cors: {allowed_origins: ['http://localhost:5173']}\ntoken: "+tokA+"\n")
	for _, m := range modes {
		for i, b := range browserHeaders {
			t.Run(m.name+": "+b.name, func(t *testing.T) {
				id := fmt.Sprintf("%s-%d", m.name, i)
				hdr := map[string]string{"X-Test-Call-Id": id, "Content-Type": "application/json"}
				for k, v := range b.hdr {
					hdr[k] = v
				}
				code, body, h := do(t, m.client(p), "POST", m.url(p, "/v1/pages"), pageBody(id), hdr)
				n := len(withID(fake, id))
				if b.want == "" {
					if code != 200 || n != 1 {
						t.Errorf("got %d %s, the fake saw it %d times; want 200, once", code, body, n)
					}
					return
				}
				if code != 403 || !strings.Contains(string(body), `"code":"`+b.want+`"`) || n != 0 {
					t.Errorf("got %d %s, the fake saw it %d times; want 403 %s, never", code, body, n, b.want)
				}
				if h.Get("Access-Control-Allow-Origin") != "" {
					t.Errorf("a refusal carries Access-Control-Allow-Origin %q", h.Get("Access-Control-Allow-Origin"))
				}
			})
		}
	}
	t.Run("admin endpoints refuse pages, even an allowed origin", func(t *testing.T) {
		for _, path := range []string{"/-/revoke?profile=default", "/-/reload", "/-/status", "/metrics"} {
			method := "GET"
			if strings.HasPrefix(path, "/-/re") {
				method = "POST"
			}
			for _, hdr := range []map[string]string{
				{"Origin": "http://evil.test"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
				{"Origin": "http://localhost:5173", "Sec-Fetch-Site": "same-site"},
			} {
				code, body, _ := do(t, p.baseClient(), method, p.baseURL()+path, nil, hdr)
				if code != 403 || !strings.Contains(string(body), "proxy_browser_refused") {
					t.Errorf("%s %s %v: got %d %s, want 403 proxy_browser_refused", method, path, hdr, code, body)
				}
			}
		}
		if st := p.status(t); st.Profiles[0].State != "ok" {
			t.Errorf("profile %s after refused revokes, want ok", st.Profiles[0].State)
		}
		if got := metricValue(t, p, "notion_proxy_reloads_total"); got != 0 {
			t.Errorf("notion_proxy_reloads_total = %v, want 0", got)
		}
	})
	t.Run("the proxy's own origin may use the admin endpoints", func(t *testing.T) {
		code, body, _ := do(t, p.baseClient(), "POST", p.baseURL()+"/-/reload", nil,
			map[string]string{"Origin": p.baseURL(), "Sec-Fetch-Site": "same-origin"})
		if code != 200 {
			t.Errorf("same-origin POST /-/reload: %d %s", code, body)
		}
	})
	t.Run("forward requests to other hosts are left as they were", func(t *testing.T) {
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "other host")
		}))
		defer other.Close()
		code, body, _ := do(t, p.httpProxyClient(), "GET", other.URL+"/x", nil, map[string]string{"Origin": "http://evil.test", "Sec-Fetch-Site": "cross-site"})
		if code != 200 || string(body) != "other host" {
			t.Errorf("got %d %s, want 200 from the other host", code, body)
		}
	})
	for _, reason := range []string{"origin_not_allowed", "cross_site"} {
		if got := metricValue(t, p, `notion_proxy_refused_total{reason="`+reason+`"}`); got == 0 {
			t.Errorf("notion_proxy_refused_total{reason=%q} = 0", reason)
		}
	}
}

// preflight is a browser's CORS preflight for a PATCH with JSON from origin.
func preflight(origin string) map[string]string {
	return map[string]string{
		"Origin":                                 origin,
		"Access-Control-Request-Method":          "PATCH",
		"Access-Control-Request-Headers":         "authorization,content-type,notion-version",
		"Access-Control-Request-Private-Network": "true",
		"Sec-Fetch-Mode":                         "cors",
		"Sec-Fetch-Site":                         "cross-site",
	}
}

func TestAllowedOriginsGetCORS(t *testing.T) {
	const app = "http://localhost:5173"
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"pause: {timeout: 300ms}\nmax_body_bytes: 1000\ncors: {allowed_origins: ['"+app+"']}\ntoken: "+tokA+"\n")
	for _, m := range modes {
		t.Run(m.name+": the preflight is answered by the proxy", func(t *testing.T) {
			fake.Reset()
			code, body, h := do(t, m.client(p), "OPTIONS", m.url(p, "/v1/pages/"+pageID), nil, preflight(app))
			if code != 204 {
				t.Fatalf("preflight: %d %s", code, body)
			}
			for k, want := range map[string]string{
				"Access-Control-Allow-Origin":          app,
				"Access-Control-Allow-Private-Network": "true",
				"Access-Control-Max-Age":               "600",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			for k, wants := range map[string][]string{
				"Vary":                         {"Origin"},
				"Access-Control-Allow-Methods": {"GET", "POST", "PATCH", "DELETE"},
				"Access-Control-Allow-Headers": {"authorization", "content-type", "notion-version"},
			} {
				for _, w := range wants {
					if !strings.Contains(h.Get(k), w) {
						t.Errorf("%s = %q, lacks %s", k, h.Get(k), w)
					}
				}
			}
			if n := len(fake.Requests()); n != 0 {
				t.Errorf("the fake saw %d requests for a preflight, want 0", n)
			}
		})
		t.Run(m.name+": an actual call gets CORS headers and the real token", func(t *testing.T) {
			fake.Reset()
			id := "cors-" + m.name
			code, body, h := do(t, m.client(p), "PATCH", m.url(p, "/v1/pages/"+pageID), []byte(`{"properties":{}}`),
				map[string]string{"Origin": app, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors", "Authorization": "Bearer placeholder",
					"Content-Type": "application/json", "X-Test-Call-Id": id})
			if code != 200 {
				t.Fatalf("PATCH: %d %s", code, body)
			}
			checkAnswerCORS(t, h, app)
			if recs := withID(fake, id); len(recs) != 1 || recs[0].Token != tokA || recs[0].Method != "PATCH" {
				t.Errorf("the fake saw %+v, want one PATCH with the profile's token", recs)
			}
		})
	}
	t.Run("a preflight is answered while the profile is paused", func(t *testing.T) {
		do(t, p.baseClient(), "POST", p.baseURL()+"/-/revoke?profile=default", nil, nil)
		start := time.Now()
		code, _, _ := do(t, p.baseClient(), "OPTIONS", p.baseURL()+"/v1/users/me", nil, preflight(app))
		if code != 204 {
			t.Errorf("preflight while paused: %d", code)
		}
		if st := p.status(t); st.Profiles[0].Waiting != 0 {
			t.Errorf("%d calls waiting after a preflight, want 0", st.Profiles[0].Waiting)
		}
		t.Logf("preflight while paused answered in %v", time.Since(start))
	})
	for _, m := range modes {
		t.Run(m.name+": the 401 given after pause.timeout carries CORS headers", func(t *testing.T) {
			code, body, h := do(t, m.client(p), "GET", m.url(p, "/v1/users/me"), nil,
				map[string]string{"Origin": app, "Sec-Fetch-Site": "cross-site"})
			if code != 401 || !strings.Contains(string(body), `"unauthorized"`) {
				t.Fatalf("got %d %s, want the 401 after pause.timeout", code, body)
			}
			checkAnswerCORS(t, h, app)
		})
	}
	t.Run("a proxy-made error carries CORS headers", func(t *testing.T) {
		code, body, h := do(t, p.baseClient(), "POST", p.baseURL()+"/v1/pages", make([]byte, 2000),
			map[string]string{"Origin": app, "Content-Type": "application/json"})
		if code != 413 {
			t.Errorf("got %d %s, want 413", code, body)
		}
		checkAnswerCORS(t, h, app)
	})
}

// checkAnswerCORS checks the CORS headers of an answer to an allowed
// origin.
func checkAnswerCORS(t *testing.T, h http.Header, origin string) {
	t.Helper()
	if got := h.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != origin {
		t.Errorf("Access-Control-Allow-Origin = %q, want exactly %q", got, origin)
	}
	if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
		t.Errorf("Vary = %q, lacks Origin", h.Values("Vary"))
	}
	for _, w := range []string{"x-notion-request-id", "retry-after"} {
		if !strings.Contains(h.Get("Access-Control-Expose-Headers"), w) {
			t.Errorf("Access-Control-Expose-Headers = %q, lacks %s", h.Get("Access-Control-Expose-Headers"), w)
		}
	}
}

// metricValue reads one sample of /metrics, from the test process.
func metricValue(t *testing.T, p *proc, sample string) float64 {
	t.Helper()
	return scrapeMetric(t, p.baseClient(), p.baseURL(), sample)
}

// scrapeMetric reads one sample ("name" or `name{label="v"}`) from
// base/metrics; a sample that is not there yet is 0.
func scrapeMetric(t *testing.T, c *http.Client, base, sample string) float64 {
	t.Helper()
	code, body, _ := do(t, c, "GET", base+"/metrics", nil, nil)
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, sample+" "); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err != nil {
				t.Fatalf("/metrics %q: %v", line, err)
			}
			return v
		}
	}
	return 0
}

func TestListenOnAllAddressesAllowsThisMachinesAddresses(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, "listen: 0.0.0.0:0\nproxy_auth: alice:s3cret\n"+upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n")
	_, port, _ := net.SplitHostPort(p.addr)
	hosts := map[string]bool{"127.0.0.1:" + port: true, "evil.test:" + port: false, "203.0.113.9:" + port: false}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			hosts[net.JoinHostPort(n.IP.String(), port)] = true // the machine's LAN address
		}
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	for host, ok := range hosts {
		req, err := http.NewRequest("GET", "http://127.0.0.1:"+port+"/v1/users/me", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		req.Header.Set("Proxy-Authorization", "Basic YWxpY2U6czNjcmV0")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ok && resp.StatusCode != 200 || !ok && resp.StatusCode != 403 {
			t.Errorf("Host %s: got %d %s, want allowed=%v", host, resp.StatusCode, body, ok)
		}
	}
	t.Logf("hosts tried: %v", hosts)
}

// A person who opens a proxy URL in a browser makes the browser ask for
// /favicon.ico, same-origin and with no Origin. Only Notion's API paths
// (/v1/...) are forwarded on the base URL, so that request never carries
// the token to Notion, and its 401 can never pause the profile.
func TestOnlyNotionPathsAreForwardedOnTheBaseURL(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n")
	host := p.addr
	for i, path := range []string{"/favicon.ico", "/", "/robots.txt", "/v2/users/me", "/v1"} {
		id := fmt.Sprintf("not-notion-%d", i)
		a := withHost(t, p, "GET", path, "HTTP/1.1", &host, id)
		if a.status != 404 || a.notionCode() != "proxy_not_found" {
			t.Errorf("GET %s: got %v, want 404 proxy_not_found", path, a)
		}
		if n := len(withID(fake, id)); n != 0 {
			t.Errorf("GET %s reached the fake Notion %d times", path, n)
		}
	}
	if a := withHost(t, p, "GET", "/v1/users/me", "HTTP/1.1", &host, "notion-path"); a.status != 200 {
		t.Errorf("GET /v1/users/me: got %v, want 200", a)
	}
}
