package rewrite_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/notion-proxy/notion-proxy/rewrite"
)

func TestHostAllowed(t *testing.T) {
	allowed := []string{"notion-proxy.internal", "10.0.0.7", "fd00::7"}
	tests := []struct {
		name   string
		host   string
		listen string
		want   bool
	}{
		{"127.0.0.1 with a port is allowed", "127.0.0.1:8787", "127.0.0.1", true},
		{"127.0.0.1 without a port is allowed", "127.0.0.1", "127.0.0.1", true},
		{"any 127/8 address is allowed", "127.3.4.5:1", "127.0.0.1", true},
		{"[::1] with a port is allowed", "[::1]:8787", "127.0.0.1", true},
		{"[::1] without a port is allowed", "[::1]", "127.0.0.1", true},
		{"an IPv4-mapped loopback is allowed", "[::ffff:127.0.0.1]:80", "127.0.0.1", true},
		{"localhost is allowed", "localhost:8787", "127.0.0.1", true},
		{"LOCALHOST is allowed", "LOCALHOST", "127.0.0.1", true},
		{"a name under .localhost is allowed", "app.localhost:8787", "127.0.0.1", true},
		{"a deep name under .localhost is allowed", "a.b.localhost", "127.0.0.1", true},
		{"the host of listen is allowed", "192.168.1.5:8787", "192.168.1.5", true},
		{"the IPv6 host of listen is allowed", "[fd00::1]:8787", "fd00::1", true},
		{"a named listen host is allowed", "myhost:8787", "MyHost", true},
		{"a name in allowed_hosts is allowed", "Notion-Proxy.internal:8787", "127.0.0.1", true},
		{"an IP in allowed_hosts is allowed", "10.0.0.7:8787", "127.0.0.1", true},
		{"an IPv6 in allowed_hosts is allowed", "[fd00:0::7]:8787", "127.0.0.1", true},

		{"an empty Host is refused", "", "127.0.0.1", false},
		{"a rebound name is refused", "evil.test:8787", "127.0.0.1", false},
		{"a rebound name without a port is refused", "evil.test", "127.0.0.1", false},
		{"a name ending in localhost without a dot is refused", "evillocalhost", "127.0.0.1", false},
		{".localhost alone is refused", ".localhost", "127.0.0.1", false},
		{"localhost. with a trailing dot is refused", "localhost.", "127.0.0.1", false},
		{"localhost.evil.test is refused", "localhost.evil.test:8787", "127.0.0.1", false},
		{"a LAN address is refused", "192.168.1.5:8787", "127.0.0.1", false},
		{"0.0.0.0 is refused", "0.0.0.0:8787", "127.0.0.1", false},
		{"an unbracketed IPv6 loopback is refused", "::1", "127.0.0.1", false},
		{"an IPv6 with a zone is refused", "[::1%25lo]:80", "127.0.0.1", false},
		{"an empty port is refused", "localhost:", "127.0.0.1", false},
		{"a named port is refused", "localhost:http", "127.0.0.1", false},
		{"userinfo is refused", "x@localhost", "127.0.0.1", false},
		{"a path is refused", "localhost/x", "127.0.0.1", false},
		{"a space is refused", "local host", "127.0.0.1", false},
		{"an empty host with a port is refused", ":8787", "", false},
		{"a name merely containing an allowed host is refused", "xnotion-proxy.internal", "127.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewrite.HostAllowed(tt.host, tt.listen, allowed); got != tt.want {
				t.Errorf("HostAllowed(%q, %q) = %v, want %v", tt.host, tt.listen, got, tt.want)
			}
		})
	}
}

func TestJudgeBrowser(t *testing.T) {
	allowed := []string{"http://localhost:5173", "https://app.example"}
	self := "http://127.0.0.1:8787"
	h := headerOf
	tests := []struct {
		name   string
		method string
		header http.Header
		self   string
		want   rewrite.BrowserVerdict
	}{
		{"a program with no browser headers passes", "POST", h(), self, rewrite.BrowserVerdict{}},
		{"Node's fetch (sec-fetch-mode: cors) passes", "GET", h("Sec-Fetch-Mode", "cors"), self, rewrite.BrowserVerdict{}},
		{"Sec-Fetch-Site none (typed in the address bar) passes", "GET", h("Sec-Fetch-Site", "none"), self, rewrite.BrowserVerdict{}},
		{"Sec-Fetch-Site same-origin passes", "GET", h("Sec-Fetch-Site", "same-origin"), self, rewrite.BrowserVerdict{}},
		{"the proxy's own origin passes without CORS", "POST", h("Origin", "http://127.0.0.1:8787", "Sec-Fetch-Site", "same-origin"), self, rewrite.BrowserVerdict{}},
		{"an allowed origin passes with CORS", "PATCH", h("Origin", "http://localhost:5173", "Sec-Fetch-Site", "same-site"), self,
			rewrite.BrowserVerdict{CORSOrigin: "http://localhost:5173"}},
		{"an allowed origin's preflight is a preflight", "OPTIONS", h("Origin", "https://app.example", "Access-Control-Request-Method", "PATCH"), self,
			rewrite.BrowserVerdict{CORSOrigin: "https://app.example", Preflight: true}},
		{"an OPTIONS without Access-Control-Request-Method is no preflight", "OPTIONS", h("Origin", "https://app.example"), self,
			rewrite.BrowserVerdict{CORSOrigin: "https://app.example"}},

		{"another origin is refused", "POST", h("Origin", "http://127.0.0.2:9999"), self, rewrite.BrowserVerdict{Refused: rewrite.RefusedOrigin}},
		{"a rebound origin is refused", "GET", h("Origin", "http://evil.test:8787"), self, rewrite.BrowserVerdict{Refused: rewrite.RefusedOrigin}},
		{"Origin null is refused", "POST", h("Origin", "null"), self, rewrite.BrowserVerdict{Refused: rewrite.RefusedOrigin}},
		{"an empty Origin is refused", "POST", h("Origin", ""), self, rewrite.BrowserVerdict{Refused: rewrite.RefusedOrigin}},
		{"two Origins are refused", "POST", h("Origin", "http://localhost:5173", "Origin", "http://localhost:5173"), self, rewrite.BrowserVerdict{Refused: rewrite.RefusedOrigin}},
		{"an allowed origin differing in case of the path is refused", "GET", h("Origin", "http://localhost:5173/"), self, rewrite.BrowserVerdict{Refused: rewrite.RefusedOrigin}},
		{"the proxy's origin is refused where it has none", "POST", h("Origin", "http://127.0.0.1:8787"), "", rewrite.BrowserVerdict{Refused: rewrite.RefusedOrigin}},
		{"a refused origin's preflight is refused", "OPTIONS", h("Origin", "http://evil.test", "Access-Control-Request-Method", "POST"), self, rewrite.BrowserVerdict{Refused: rewrite.RefusedOrigin}},
		{"Sec-Fetch-Site cross-site without Origin is refused", "GET", h("Sec-Fetch-Site", "cross-site", "Sec-Fetch-Dest", "image"), self, rewrite.BrowserVerdict{Refused: rewrite.RefusedFetchSite}},
		{"Sec-Fetch-Site same-site without Origin is refused", "GET", h("Sec-Fetch-Site", "Same-Site"), self, rewrite.BrowserVerdict{Refused: rewrite.RefusedFetchSite}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewrite.JudgeBrowser(tt.method, tt.header, allowed, tt.self); got != tt.want {
				t.Errorf("JudgeBrowser(%s, %v) = %+v, want %+v", tt.method, tt.header, got, tt.want)
			}
		})
	}
}

func TestPreflightHeaders(t *testing.T) {
	tests := []struct {
		name    string
		req     http.Header
		private bool
	}{
		{"a preflight gets the origin, methods, headers and max-age", http.Header{"Access-Control-Request-Method": {"PATCH"}}, false},
		{"a Private Network Access preflight is allowed", http.Header{"Access-Control-Request-Private-Network": {"true"}}, true},
		{"a Private Network header other than true is not", http.Header{"Access-Control-Request-Private-Network": {"yes"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := rewrite.PreflightHeaders("http://localhost:5173", tt.req)
			for k, want := range map[string]string{
				"Access-Control-Allow-Origin":  "http://localhost:5173",
				"Access-Control-Allow-Methods": "GET, HEAD, POST, PATCH, DELETE",
				"Access-Control-Max-Age":       "600",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			for _, want := range []string{"authorization", "content-type", "notion-version"} {
				if !containsToken(h.Get("Access-Control-Allow-Headers"), want) {
					t.Errorf("Access-Control-Allow-Headers %q lacks %s", h.Get("Access-Control-Allow-Headers"), want)
				}
			}
			if !containsToken(h.Get("Vary"), "Origin") {
				t.Errorf("Vary %q lacks Origin", h.Get("Vary"))
			}
			if got := h.Get("Access-Control-Allow-Private-Network") == "true"; got != tt.private {
				t.Errorf("Access-Control-Allow-Private-Network set = %v, want %v", got, tt.private)
			}
			if h.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("Access-Control-Allow-Credentials set: the proxy holds the token, pages need no cookies")
			}
		})
	}
}

func TestAnswerCORSHeaders(t *testing.T) {
	h := rewrite.AnswerCORSHeaders("https://app.example")
	if got := h.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
		t.Errorf("Access-Control-Allow-Origin = %q", got)
	}
	if got := h.Get("Vary"); got != "Origin" {
		t.Errorf("Vary = %q, want Origin", got)
	}
	for _, want := range []string{"x-notion-request-id", "retry-after"} {
		if !containsToken(h.Get("Access-Control-Expose-Headers"), want) {
			t.Errorf("Access-Control-Expose-Headers %q lacks %s", h.Get("Access-Control-Expose-Headers"), want)
		}
	}
}

func TestStripCORSHeaders(t *testing.T) {
	h := http.Header{"Access-Control-Allow-Origin": {"*"}, "Access-Control-Allow-Credentials": {"true"}, "X-Notion-Request-Id": {"r"}}
	rewrite.StripCORSHeaders(h)
	if len(h) != 1 || h.Get("X-Notion-Request-Id") != "r" {
		t.Errorf("after StripCORSHeaders: %v, want only X-Notion-Request-Id", h)
	}
}

// containsToken reports whether the comma-separated list holds tok
// (without case).
func containsToken(list, tok string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), tok) {
			return true
		}
	}
	return false
}

func TestJudgeNotionCall(t *testing.T) {
	const (
		chromium = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
		firefox  = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
	)
	allowed := []string{"http://localhost:5173"}
	self := "http://allowed.test:8787"
	h := headerOf
	tests := []struct {
		name   string
		method string
		header http.Header
		self   string
		want   rewrite.BrowserVerdict
	}{
		{"curl passes", "GET", h("User-Agent", "curl/7.88.1"), self, rewrite.BrowserVerdict{}},
		{"Go's client passes", "GET", h("User-Agent", "Go-http-client/1.1"), self, rewrite.BrowserVerdict{}},
		{"Python requests passes", "GET", h("User-Agent", "python-requests/2.34.2"), self, rewrite.BrowserVerdict{}},
		{"Node's fetch passes", "GET", h("User-Agent", "node", "Sec-Fetch-Mode", "cors"), self, rewrite.BrowserVerdict{}},
		{"the official SDK passes", "PATCH", h("User-Agent", "notionhq-client/5.26.0"), self, rewrite.BrowserVerdict{}},
		{"no User-Agent passes", "GET", h(), self, rewrite.BrowserVerdict{}},
		{"a UA merely containing Mozilla/ passes", "GET", h("User-Agent", "MyTool (like Mozilla/5.0)"), self, rewrite.BrowserVerdict{}},
		{"a browser UA with Sec-Fetch-Site none (a program saying so, or the address bar) passes", "GET", h("User-Agent", chromium, "Sec-Fetch-Site", "none"), self, rewrite.BrowserVerdict{}},
		{"a browser UA with Sec-Fetch-Site same-origin passes", "GET", h("User-Agent", chromium, "Sec-Fetch-Site", "same-origin"), self, rewrite.BrowserVerdict{}},
		{"a browser UA from the proxy's own origin passes", "POST", h("User-Agent", chromium, "Origin", self), self, rewrite.BrowserVerdict{}},
		{"a browser UA from an allowed origin passes with CORS", "GET", h("User-Agent", chromium, "Origin", "http://localhost:5173"), self,
			rewrite.BrowserVerdict{CORSOrigin: "http://localhost:5173"}},

		{"Chromium's <img> to a non-trustworthy URL is refused", "GET", h("User-Agent", chromium, "Accept", "image/avif,image/webp,*/*"), self,
			rewrite.BrowserVerdict{Refused: rewrite.RefusedUserAgent}},
		{"Firefox's <script> to a non-trustworthy URL is refused", "GET", h("User-Agent", firefox, "Accept", "*/*"), self,
			rewrite.BrowserVerdict{Refused: rewrite.RefusedUserAgent}},
		{"a browser UA is refused on a forward-proxy request too", "GET", h("User-Agent", chromium), "",
			rewrite.BrowserVerdict{Refused: rewrite.RefusedUserAgent}},
		{"mozilla/ in another case is refused", "GET", h("User-Agent", " mozilla/4.0 (compatible; MSIE 6.0)"), self,
			rewrite.BrowserVerdict{Refused: rewrite.RefusedUserAgent}},
		{"a browser UA among two User-Agents is refused", "GET", h("User-Agent", "curl/8", "User-Agent", chromium), self,
			rewrite.BrowserVerdict{Refused: rewrite.RefusedUserAgent}},
		{"an empty Sec-Fetch-Site does not vouch for a browser UA", "GET", h("User-Agent", chromium, "Sec-Fetch-Site", " "), self,
			rewrite.BrowserVerdict{Refused: rewrite.RefusedUserAgent}},
		{"Sec-Fetch-Mode alone does not vouch for a browser UA", "GET", h("User-Agent", chromium, "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image"), self,
			rewrite.BrowserVerdict{Refused: rewrite.RefusedUserAgent}},
		{"a browser UA with a cross-site Sec-Fetch-Site keeps that reason", "GET", h("User-Agent", chromium, "Sec-Fetch-Site", "cross-site"), self,
			rewrite.BrowserVerdict{Refused: rewrite.RefusedFetchSite}},
		{"a browser UA with another Origin keeps that reason", "POST", h("User-Agent", chromium, "Origin", "http://evil.test"), self,
			rewrite.BrowserVerdict{Refused: rewrite.RefusedOrigin}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewrite.JudgeNotionCall(tt.method, tt.header, allowed, tt.self); got != tt.want {
				t.Errorf("JudgeNotionCall(%s, %v) = %+v, want %+v", tt.method, tt.header, got, tt.want)
			}
		})
	}
}

func TestJudgeBrowserIgnoresUserAgent(t *testing.T) {
	// Admin endpoints are judged by JudgeBrowser alone: a person's browser
	// opens the status page on an allowed host name, where it sends no
	// Sec-Fetch-Site.
	h := http.Header{"User-Agent": {"Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0"}}
	if got := rewrite.JudgeBrowser("GET", h, nil, "http://allowed.test:8787"); got != (rewrite.BrowserVerdict{}) {
		t.Errorf("JudgeBrowser(a browser's GET without Fetch Metadata) = %+v, want it served", got)
	}
}

// headerOf builds a header from name, value pairs.
func headerOf(kv ...string) http.Header {
	out := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Add(kv[i], kv[i+1])
	}
	return out
}
