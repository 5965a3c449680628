package rewrite_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/rewrite"
)

// Seeds for every target live in testdata/fuzz/<target>/.

func FuzzIsInvalidToken(f *testing.F) {
	f.Fuzz(func(t *testing.T, status int, body []byte, gzipped bool) {
		header := http.Header{"X-Notion-Request-Id": {"9b1c5a7e"}}
		payload := body
		if gzipped {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			if _, err := zw.Write(body); err != nil {
				t.Fatal(err)
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			payload = buf.Bytes()
			header.Set("Content-Encoding", "gzip")
		}
		got := rewrite.IsInvalidToken(status, header, payload)
		if got && status != http.StatusUnauthorized {
			t.Fatalf("IsInvalidToken(%d, %q) = true for a status other than 401", status, body)
		}
		if want := status == http.StatusUnauthorized && rewrite.ErrorCode(header, payload) == "unauthorized"; got != want {
			t.Fatalf("IsInvalidToken(%d, %q) = %v, but ErrorCode says %v", status, body, got, want)
		}
		if gzipped {
			if plain := rewrite.IsInvalidToken(status, nil, body); plain != got {
				t.Fatalf("IsInvalidToken(%d, %q) = %v plain but %v gzipped", status, body, plain, got)
			}
		}
		// A gzip header over bytes that may not be gzip must not panic.
		rewrite.IsInvalidToken(status, http.Header{"Content-Encoding": {"gzip"}}, body)
		// A page of the CDN is never Notion's answer.
		cdn := header.Clone()
		cdn.Del("X-Notion-Request-Id")
		cdn.Set("Cf-Ray", "8a1b2c3d4e5f6a7b-FRA")
		if rewrite.IsInvalidToken(status, cdn, payload) {
			t.Fatalf("IsInvalidToken(%d, %q) = true for an answer with cf-ray and no x-notion-request-id", status, body)
		}
	})
}

// readOnlyPost is an independent statement of the POST endpoints that may be
// retried.
var readOnlyPost = regexp.MustCompile(`^/v1/(search|(databases|data_sources)/([^/]+)/query)/?$`)

func FuzzIsRetrySafe(f *testing.F) {
	f.Fuzz(func(t *testing.T, method, path string) {
		got := rewrite.IsRetrySafe(method, path)
		var want bool
		switch method {
		case http.MethodGet, http.MethodHead:
			want = true
		case http.MethodPost:
			m := readOnlyPost.FindStringSubmatch(path)
			want = m != nil && m[3] != "." && m[3] != ".."
		}
		if got != want {
			t.Fatalf("IsRetrySafe(%q, %q) = %v, want %v", method, path, got, want)
		}
	})
}

func FuzzRetryAfter(f *testing.F) {
	f.Fuzz(func(t *testing.T, value string, nowUnix int64) {
		now := time.Unix(nowUnix, 0)
		d, ok := rewrite.RetryAfter(value, now)
		if d < 0 {
			t.Fatalf("RetryAfter(%q, %v) = %v, negative", value, now, d)
		}
		if !ok && d != 0 {
			t.Fatalf("RetryAfter(%q, %v) = %v, false; want 0 when not ok", value, now, d)
		}
		if ok && strings.TrimSpace(value) == "" {
			t.Fatalf("RetryAfter(%q) ok for a blank value", value)
		}
	})
}

// FuzzRateLimitWait: whatever Retry-After says, the wait is never below
// the back-off floor nor negative, so no answer makes the proxy resend at
// once.
func FuzzRateLimitWait(f *testing.F) {
	f.Add("0", int64(0), int64(time.Second))
	f.Add("Thu, 01 Jan 1970 00:00:00 GMT", int64(1e9), int64(500*time.Millisecond))
	f.Fuzz(func(t *testing.T, value string, nowUnix int64, backoff int64) {
		now := time.Unix(nowUnix, 0)
		floor := time.Duration(backoff)
		d := rewrite.RateLimitWait(value, now, floor)
		if d < 0 || d < floor {
			t.Fatalf("RateLimitWait(%q, %v, %v) = %v, below the floor", value, now, floor, d)
		}
	})
}

func FuzzApply(f *testing.F) {
	f.Fuzz(func(t *testing.T, token, version, path, authorization, proxyAuthorization, sentVersion, extraName string) {
		h := http.Header{}
		h[extraName] = []string{"x"}
		if authorization != "" {
			h["Authorization"] = []string{authorization}
		}
		h["Proxy-Authorization"] = []string{proxyAuthorization}
		h["Proxy-Connection"] = []string{"keep-alive"}
		if sentVersion != "" {
			h["Notion-Version"] = []string{sentVersion}
		}
		before := h.Clone()

		rewrite.Outgoing{Token: token, NotionVersion: version}.Apply(h, path)

		versionFound := false
		for name, values := range h {
			if strings.EqualFold(name, "Proxy-Authorization") || strings.EqualFold(name, "Proxy-Connection") {
				t.Fatalf("after Apply the header still has %s: %v", name, h)
			}
			if !rewrite.IsOAuthEndpoint(path) && strings.EqualFold(name, "Authorization") && name != "Authorization" {
				t.Fatalf("after Apply the header still has a second Authorization %s: %v", name, h)
			}
			if strings.EqualFold(name, "Notion-Version") {
				for _, v := range values {
					if strings.TrimSpace(v) == "" {
						t.Fatalf("after Apply the header has a blank Notion-Version: %v", h)
					}
					versionFound = true
				}
			}
		}
		if rewrite.IsOAuthEndpoint(path) {
			if got, want := h["Authorization"], before["Authorization"]; !slices.Equal(got, want) {
				t.Fatalf("Apply changed the Authorization of OAuth path %q: %q, was %q", path, got, want)
			}
		} else if got := h["Authorization"]; len(got) != 1 || got[0] != "Bearer "+token {
			t.Fatalf("after Apply on %q Authorization = %q, want exactly %q", path, got, "Bearer "+token)
		}
		if strings.TrimSpace(version) != "" && !versionFound {
			t.Fatalf("after Apply with version %q there is no Notion-Version: %v", version, h)
		}
		if strings.TrimSpace(sentVersion) != "" {
			if got := h["Notion-Version"]; len(got) != 1 || got[0] != sentVersion {
				t.Fatalf("Apply replaced the program's Notion-Version %q with %q", sentVersion, got)
			}
		}
	})
}

func FuzzIncomingCredentials(f *testing.F) {
	f.Fuzz(func(t *testing.T, authorization, proxyAuthorization string) {
		h := http.Header{"Authorization": {authorization}, "Proxy-Authorization": {proxyAuthorization}}
		c := rewrite.IncomingCredentials(h)
		if c.Bearer != "" && (strings.ContainsAny(c.Bearer, " \t\r\n") || !strings.Contains(authorization, c.Bearer)) {
			t.Fatalf("IncomingCredentials(%q) gave Bearer %q", authorization, c.Bearer)
		}
		if c.ProxyUser != "" || c.ProxyPass != "" {
			if !rewrite.CheckProxyAuth(h, c.ProxyUser+":"+c.ProxyPass) {
				t.Fatalf("CheckProxyAuth refused %q, which IncomingCredentials read as %+v", proxyAuthorization, c)
			}
		}

		// Whatever the two strings, a well-formed Basic header of them
		// round-trips, provided the user name has no colon.
		if strings.Contains(authorization, ":") {
			return
		}
		userPass := authorization + ":" + proxyAuthorization
		h = http.Header{"Proxy-Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))}}
		c = rewrite.IncomingCredentials(h)
		if c.ProxyUser != authorization || c.ProxyPass != proxyAuthorization {
			t.Fatalf("IncomingCredentials of Basic %q = %+v", userPass, c)
		}
		if !rewrite.CheckProxyAuth(h, userPass) {
			t.Fatalf("CheckProxyAuth refused its own credentials %q", userPass)
		}
		if rewrite.CheckProxyAuth(h, userPass+"x") {
			t.Fatalf("CheckProxyAuth accepted %q for %q", userPass, userPass+"x")
		}
	})
}

// FuzzBrowser checks the browser rules (docs/design.md#browsers) hold for any Host,
// Origin and Sec-Fetch-Site: a Host that is allowed names loopback,
// localhost or a listed host; nothing but an allowed or the proxy's own
// Origin is let through; a request with no Origin and no cross-site
// Sec-Fetch-Site is never refused by JudgeBrowser; JudgeNotionCall
// refuses all JudgeBrowser refuses, and besides only a browser's
// User-Agent with neither Origin nor Sec-Fetch-Site.
func FuzzBrowser(f *testing.F) {
	allowed := []string{"http://localhost:5173"}
	f.Fuzz(func(t *testing.T, host, origin, site string, hasOrigin bool, ua string) {
		if rewrite.HostAllowed(host, "127.0.0.1", []string{"proxy.internal"}) {
			if host == "" {
				t.Fatal("HostAllowed(\"\") = true")
			}
			lower := strings.ToLower(host)
			if !strings.Contains(lower, "127.") && !strings.Contains(lower, "::") &&
				!strings.Contains(lower, "localhost") && !strings.Contains(lower, "proxy.internal") {
				t.Fatalf("HostAllowed(%q) = true for a host naming no loopback address, localhost or allowed host", host)
			}
		}
		h := http.Header{}
		if hasOrigin {
			h.Set("Origin", origin)
		}
		if site != "" {
			h.Set("Sec-Fetch-Site", site)
		}
		h.Set("Sec-Fetch-Mode", "cors")
		v := rewrite.JudgeBrowser(http.MethodOptions, h, allowed, "http://127.0.0.1:8787")
		switch {
		case hasOrigin && v.Refused == "" && strings.TrimSpace(origin) != "http://localhost:5173" && !strings.EqualFold(strings.TrimSpace(origin), "http://127.0.0.1:8787"):
			t.Fatalf("Origin %q let through: %+v", origin, v)
		case v.CORSOrigin != "" && v.CORSOrigin != "http://localhost:5173":
			t.Fatalf("CORSOrigin %q is not an allowed origin", v.CORSOrigin)
		case !hasOrigin && v.Refused != "" && !strings.Contains(strings.ToLower(site), "site"):
			t.Fatalf("a request with no Origin and Sec-Fetch-Site %q refused: %+v", site, v)
		case v.Refused != "" && (v.CORSOrigin != "" || v.Preflight):
			t.Fatalf("a refused request has CORS: %+v", v)
		}
		h.Set("User-Agent", ua)
		n := rewrite.JudgeNotionCall(http.MethodGet, h, allowed, "http://127.0.0.1:8787")
		browser := strings.HasPrefix(strings.ToLower(strings.TrimSpace(ua)), "mozilla/")
		switch {
		case v.Refused != "" && n.Refused != v.Refused:
			t.Fatalf("JudgeNotionCall let through or renamed what JudgeBrowser refused: %+v, %+v", n, v)
		case n.Refused == rewrite.RefusedUserAgent && (!browser || hasOrigin || strings.TrimSpace(site) != ""):
			t.Fatalf("refused as a browser's User-Agent: UA %q, Origin %v, Sec-Fetch-Site %q", ua, hasOrigin, site)
		case browser && !hasOrigin && strings.TrimSpace(site) == "" && n.Refused == "":
			t.Fatalf("a browser's User-Agent %q with no Origin and no Sec-Fetch-Site let through", ua)
		case !browser && n.Refused != v.Refused:
			t.Fatalf("UA %q is no browser's, yet JudgeNotionCall = %+v and JudgeBrowser = %+v", ua, n, v)
		}
	})
}
