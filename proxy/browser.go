package proxy

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/notion-proxy/notion-proxy/rewrite"
)

// Browsers (docs/design.md#browsers): no web page may use the proxy. Every request that
// reaches the listener, or is read from an intercepted tunnel, is screened
// before it is routed (screenListener, screenIntercepted):
//
//   - an origin-form request (base URL, /-/…, /metrics) must name this
//     machine in Host (rewrite.HostAllowed), else 403
//     proxy_host_not_allowed: a page whose name was rebound to 127.0.0.1
//     sends its own name;
//   - a request to Notion, whatever way it came in, with an Origin other
//     than cors.allowed_origins (or the proxy's own origin), or with
//     Sec-Fetch-Site cross-site/same-site and no such Origin, or with a
//     browser's User-Agent and neither Origin nor Sec-Fetch-Site (a page's
//     GET to a URL its browser sends no Fetch Metadata to), gets 403
//     proxy_browser_refused (rewrite.JudgeNotionCall);
//   - admin endpoints refuse every Origin but the proxy's own: an allowed
//     web app may call Notion, not revoke, reload or read the proxy;
//   - an allowed origin's preflight is answered here, never forwarded or
//     paused, and its other requests get CORS headers on whatever answer
//     they get (Notion's, the proxy's own errors, a 401 after waiting).
//
// Forward-proxy requests for other hosts (CONNECT, absolute URIs) are
// judged by their target as before: they never carry a token.

// Messages of the proxy's browser refusals.
const (
	msgHostNotAllowed   = "notion-proxy answers only requests whose Host names this machine (loopback, localhost, the listen host or allowed_hosts)"
	msgBrowserRefused   = "notion-proxy does not serve web pages, except those of the origins in cors.allowed_origins"
	msgAdminCrossOrigin = "notion-proxy's admin endpoints do not serve web pages of other origins"
)

// screenListener screens a request read from the listener. It reports
// true when it has answered the request itself (a refusal or a preflight);
// otherwise an allowed origin's CORS headers are set on w.
func (s *Server) screenListener(w http.ResponseWriter, r *http.Request, isAdmin bool) bool {
	cfg := s.runtime().cfg
	switch {
	case r.Method == http.MethodConnect:
		return false // judged by its target; the tunnel's requests are screened inside
	case r.URL.IsAbs():
		if !strings.EqualFold(hostOnly(r.URL.Host), rewrite.NotionHost) {
			return false // another host: tunnelled untouched, never a token
		}
		return s.screenBrowser(w, r, rewrite.JudgeNotionCall(r.Method, r.Header, cfg.CORS.AllowedOrigins, ""))
	}
	if !rewrite.HostAllowed(r.Host, hostOnly(cfg.Listen), cfg.AllowedHosts) && !s.namesThisMachine(r.Host) {
		s.refuse(w, r, rewrite.RefusedHost, codeHostNotAllowed, msgHostNotAllowed)
		return true
	}
	self := "http://" + r.Host
	if isAdmin {
		v := rewrite.JudgeBrowser(r.Method, r.Header, nil, self)
		if v.Refused != "" {
			s.refuse(w, r, v.Refused, codeBrowserRefused, msgAdminCrossOrigin)
			return true
		}
		return false
	}
	if !strings.HasPrefix(r.URL.Path, "/v1/") {
		// Never forwarded (404 proxy_not_found): a browser's own GET
		// /favicon.ico on an allowed host name is no call to refuse.
		return s.screenBrowser(w, r, rewrite.JudgeBrowser(r.Method, r.Header, cfg.CORS.AllowedOrigins, self))
	}
	return s.screenBrowser(w, r, rewrite.JudgeNotionCall(r.Method, r.Header, cfg.CORS.AllowedOrigins, self))
}

// namesThisMachine reports whether host is an IP address of this machine
// while the listener takes every address (listen 0.0.0.0 or [::], which
// needs proxy_auth): then "the host of listen" is each of them. An IP
// literal is no DNS rebinding: a page whose origin is this machine's
// address and port is the proxy's own.
func (s *Server) namesThisMachine(host string) bool {
	self := s.ways.self.Load()
	if self == nil || !self.Addr().IsUnspecified() {
		return false
	}
	ip, err := netip.ParseAddr(strings.Trim(hostOnly(host), "[]"))
	return err == nil && ip.Zone() == "" && isLocalIP(ip.Unmap())
}

// screenIntercepted screens a request read from an intercepted tunnel to
// Notion, like screenListener.
func (s *Server) screenIntercepted(w http.ResponseWriter, r *http.Request) bool {
	cfg := s.runtime().cfg
	return s.screenBrowser(w, r, rewrite.JudgeNotionCall(r.Method, r.Header, cfg.CORS.AllowedOrigins, ""))
}

// screenBrowser acts on the verdict for a request to Notion: it refuses,
// answers a preflight, or sets the CORS headers of an allowed origin.
func (s *Server) screenBrowser(w http.ResponseWriter, r *http.Request, v rewrite.BrowserVerdict) bool {
	switch {
	case v.Refused != "":
		s.refuse(w, r, v.Refused, codeBrowserRefused, msgBrowserRefused)
		return true
	case v.Preflight:
		for k, vs := range rewrite.PreflightHeaders(v.CORSOrigin, r.Header) {
			w.Header()[k] = vs
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusNoContent)
		return true
	case v.CORSOrigin != "":
		setCORS(w, v.CORSOrigin)
	}
	return false
}

// corsForResumed sets the CORS headers of a parked call's answer, which is
// written for a request (the resume request) that carries none of the
// call's own headers.
func (s *Server) corsForResumed(w http.ResponseWriter, call *http.Request) {
	v := rewrite.JudgeBrowser(call.Method, call.Header, s.runtime().cfg.CORS.AllowedOrigins, "")
	if v.Refused == "" && v.CORSOrigin != "" {
		setCORS(w, v.CORSOrigin)
	}
}

func setCORS(w http.ResponseWriter, origin string) {
	for k, vs := range rewrite.AnswerCORSHeaders(origin) {
		w.Header()[k] = vs
	}
}

// stripUpstreamCORS is the reverse proxy's ModifyResponse: Notion's own
// Access-Control-… headers, if it ever sends any, never reach a page; only
// the proxy's decide what a page may read.
func stripUpstreamCORS(resp *http.Response) error {
	rewrite.StripCORSHeaders(resp.Header)
	return nil
}

// refuse answers 403 in Notion's error shape, counts the refusal and logs
// it (rate-limited).
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, reason, code, msg string) {
	s.refusals.count(reason)
	key := r.Host
	if o := r.Header.Get("Origin"); o != "" && reason != rewrite.RefusedHost {
		key = o
	}
	if suppressed, ok := s.refusals.shouldLog(reason+" "+key, s.now()); ok {
		s.log.Warn().Str("reason", reason).Str("method", r.Method).Str("path", r.URL.Path).
			Str("host", r.Host).Str("origin", r.Header.Get("Origin")).
			Str("sec_fetch_site", r.Header.Get("Sec-Fetch-Site")).Str("user_agent", r.Header.Get("User-Agent")).
			Str("remote", r.RemoteAddr).
			Int("suppressed", suppressed).
			Msg("browser request refused: no web page may use notion-proxy (see cors.allowed_origins, allowed_hosts)")
	}
	writeNotionError(w, http.StatusForbidden, code, msg)
}

// Refusal logging: at most one line per repeatEvery (repeatlog.go) for
// each reason and host or origin, and at most maxRefusalKeys remembered, so a page in
// a loop cannot flood the log and a flood of distinct names cannot grow
// memory. Past the bound, the refusals share one key.
const (
	maxRefusalKeys = 1024
	overflowKey    = "(many distinct hosts or origins)"
)

// refusals counts browser refusals and limits their log lines.
type refusals struct {
	counter *prometheus.CounterVec

	mu        sync.Mutex
	seen      map[string]*repeatLimiter // repeatlog.go; its msg is the key
	lastPrune time.Time
}

// newRefusals registers notion_proxy_refused_total in reg, every reason
// at 0.
func newRefusals(reg *prometheus.Registry) *refusals {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "notion_proxy_refused_total",
		Help: "Requests refused because they came from a web page, by reason: host_not_allowed, origin_not_allowed, cross_site, browser_user_agent.",
	}, []string{"reason"})
	for _, reason := range []string{rewrite.RefusedHost, rewrite.RefusedOrigin, rewrite.RefusedFetchSite, rewrite.RefusedUserAgent} {
		c.WithLabelValues(reason)
	}
	reg.MustRegister(c)
	return &refusals{counter: c, seen: map[string]*repeatLimiter{}}
}

func (f *refusals) count(reason string) { f.counter.WithLabelValues(reason).Inc() }

// shouldLog reports whether a refusal under key is logged now, and how
// many refusals under it were not logged since its last line.
func (f *refusals) shouldLog(key string, now time.Time) (int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.seen) >= maxRefusalKeys && now.Sub(f.lastPrune) >= repeatEvery {
		f.lastPrune = now
		for k, v := range f.seen {
			if now.Sub(v.logged) >= repeatEvery {
				delete(f.seen, k)
			}
		}
	}
	k, ok := f.seen[key]
	if !ok && len(f.seen) >= maxRefusalKeys {
		key = overflowKey
		k, ok = f.seen[key]
	}
	if !ok {
		k = &repeatLimiter{}
		f.seen[key] = k
	}
	log, held := k.allow(key, now)
	return held, log
}
