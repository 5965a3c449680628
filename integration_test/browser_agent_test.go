package integration_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A browser's GET without Fetch Metadata (docs/design.md#browsers):
// browsers send Sec-Fetch-Site only to trustworthy URLs, so an <img> or a
// <script> to http://<a name in allowed_hosts>/v1/… or to
// http://api.notion.com through a browser that uses the proxy as its HTTP
// proxy carries neither Origin nor Sec-Fetch-Site, only the browser's
// User-Agent. Go clients and curl send the headers exactly;
// browser_agent_chromium_test.go has a real browser send them.

// Browsers' User-Agents.
const (
	chromiumUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
	firefoxUA  = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
)

// allowedHost is the name the tests list in allowed_hosts; their clients
// reach the proxy's listener for it.
const allowedHost = "allowed.test"

// allowedHostClient talks to the proxy in base-URL mode by the name
// allowed.test, which it resolves to the proxy's address.
func (p *proc) allowedHostClient() *http.Client {
	dial := (&net.Dialer{Timeout: 10 * time.Second}).DialContext
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dial(ctx, network, p.addr)
		},
	}}
}

// allowedHostURL is path on the proxy by the name allowed.test.
func (p *proc) allowedHostURL(path string) string {
	_, port, _ := net.SplitHostPort(p.addr)
	return "http://" + allowedHost + ":" + port + path
}

// waysWithAllowedHost are the three ways in, and the base URL by a name
// in allowed_hosts.
func waysWithAllowedHost() []mode {
	return append(append([]mode(nil), modes...), mode{"base URL on an allowed host name", (*proc).allowedHostClient, (*proc).allowedHostURL})
}

func TestBrowserUserAgentWithoutFetchMetadataIsRefused(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"allowed_hosts: ["+allowedHost+"]\ntoken: "+tokA+"\n")
	_, metrics, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/metrics", nil, nil)
	if !strings.Contains(string(metrics), `notion_proxy_refused_total{reason="browser_user_agent"} 0`) {
		t.Errorf("/metrics lacks notion_proxy_refused_total{reason=\"browser_user_agent\"} 0 before any refusal")
	}
	headers := []struct {
		name    string
		hdr     map[string]string
		refused bool
	}{
		{"Go's own User-Agent", nil, false},
		{"curl's User-Agent", map[string]string{"User-Agent": "curl/7.88.1"}, false},
		{"the official SDK's User-Agent", map[string]string{"User-Agent": "notionhq-client/5.26.0"}, false},
		{"Node's fetch", map[string]string{"User-Agent": "node", "Sec-Fetch-Mode": "cors"}, false},
		{"a program with a browser's User-Agent and Sec-Fetch-Site none", map[string]string{"User-Agent": chromiumUA, "Sec-Fetch-Site": "none"}, false},
		{"Chromium's <img> (no Fetch Metadata)", map[string]string{"User-Agent": chromiumUA, "Accept": "image/avif,image/webp,*/*"}, true},
		{"Firefox's <script> (no Fetch Metadata)", map[string]string{"User-Agent": firefoxUA, "Accept": "*/*"}, true},
		{"a browser's User-Agent with Sec-Fetch-Mode and Dest but no Sec-Fetch-Site", map[string]string{"User-Agent": chromiumUA, "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}, true},
	}
	ways := waysWithAllowedHost()
	refusals := 0
	for _, m := range ways {
		for i, h := range headers {
			t.Run(m.name+": "+h.name, func(t *testing.T) {
				id := fmt.Sprintf("ua-%s-%d", m.name, i)
				hdr := map[string]string{"X-Test-Call-Id": id}
				for k, v := range h.hdr {
					hdr[k] = v
				}
				code, body, _ := do(t, m.client(p), "GET", m.url(p, "/v1/users/me"), nil, hdr)
				n := len(withID(fake, id))
				if !h.refused {
					if code != 200 || n != 1 {
						t.Errorf("got %d %s, the fake saw it %d times; want 200, once", code, body, n)
					}
					return
				}
				if code != 403 || !strings.Contains(string(body), `"code":"proxy_browser_refused"`) || n != 0 {
					t.Errorf("got %d %s, the fake saw it %d times; want 403 proxy_browser_refused, never", code, body, n)
				}
			})
			if h.refused {
				refusals++
			}
		}
	}
	t.Run("curl with its own and with a browser's User-Agent", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Fatal("curl is needed (Debian package curl; .ci/run installs it)")
		}
		_, port, _ := net.SplitHostPort(p.addr)
		for name, args := range map[string][]string{
			"base URL":                         {p.baseURL() + "/v1/users/me"},
			"base URL on an allowed host name": {"--resolve", allowedHost + ":" + port + ":127.0.0.1", p.allowedHostURL("/v1/users/me")},
			"HTTPS proxy":                      {"--proxy", p.baseURL(), "--cacert", p.caPath, "https://api.notion.com/v1/users/me"},
			"HTTP proxy":                       {"--proxy", p.baseURL(), "http://api.notion.com/v1/users/me"},
		} {
			for _, ua := range []string{"", chromiumUA} {
				curlArgs := []string{"-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}"}
				if ua != "" {
					curlArgs = append(curlArgs, "-A", ua)
				}
				out, err := exec.Command("curl", append(curlArgs, args...)...).CombinedOutput()
				want := map[bool]string{false: "200", true: "403"}[ua != ""]
				if err != nil || string(out) != want {
					t.Errorf("%s, User-Agent %q: curl %v %s, want %s", name, ua, err, out, want)
				}
			}
		}
		refusals += 4
	})
	t.Run("a browser opens the status page on an allowed host name", func(t *testing.T) {
		hdr := map[string]string{"User-Agent": chromiumUA, "Accept": "text/html"}
		for _, path := range []string{"/-/", "/-/status", "/metrics"} {
			if code, body, _ := do(t, p.allowedHostClient(), "GET", p.allowedHostURL(path), nil, hdr); code != 200 {
				t.Errorf("GET %s: %d %s, want 200", path, code, body)
			}
		}
		// Its own GET /favicon.ico is never forwarded, and no refusal.
		code, body, _ := do(t, p.allowedHostClient(), "GET", p.allowedHostURL("/favicon.ico"), nil, hdr)
		if code != 404 || !strings.Contains(string(body), "proxy_not_found") {
			t.Errorf("GET /favicon.ico: %d %s, want 404 proxy_not_found", code, body)
		}
	})
	if got := metricValue(t, p, `notion_proxy_refused_total{reason="browser_user_agent"}`); got != float64(refusals) {
		t.Errorf("notion_proxy_refused_total{reason=browser_user_agent} = %v, want %d", got, refusals)
	}
	if st := p.status(t); st.Profiles[0].State != "ok" {
		t.Errorf("profile %s, want ok", st.Profiles[0].State)
	}
	logged := false
	for _, l := range p.logsWith("browser request refused") {
		if l["reason"] == "browser_user_agent" && l["user_agent"] != "" && l["user_agent"] != nil {
			logged = true
		}
	}
	if !logged {
		t.Error("no refusal logged with reason browser_user_agent and the user_agent")
	}
}
