package rewrite

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Browsers (docs/design.md#browsers). The proxy holds the user's token and listens on
// loopback, so any web page the user opens can send it requests. Two facts
// of a request tell a browser's request from a program's:
//
//   - Host. A page whose own name was rebound to 127.0.0.1 (DNS
//     rebinding) sends its own name in Host. Origin-form requests must name
//     this machine: HostAllowed.
//   - Origin and Sec-Fetch-Site. Browsers send Origin on every cross-origin
//     request they can be made to send without the page reading the answer
//     (forms, fetch with no-cors, beacons) but a GET, and Sec-Fetch-Site on
//     every request to a trustworthy URL (https, loopback, localhost),
//     images and scripts included. Programs that are not browsers send
//     neither; Node's fetch sends Sec-Fetch-Mode: cors, which says nothing
//     about a page and is never looked at: JudgeBrowser.
//   - User-Agent, for a GET to a URL its browser sends no Fetch Metadata
//     to (plain http on a name that is not loopback, or any URL in a
//     browser older than Fetch Metadata): JudgeNotionCall
//     (browseragent.go).

// HostAllowed reports whether host, the Host header of an origin-form
// request (with or without a port), names this proxy: a loopback IP
// literal (127.0.0.0/8, [::1]), "localhost" or a name under ".localhost",
// listenHost (the host of the listen setting), or one of allowed (host
// names compared without case, IP addresses by value). An empty Host, a
// malformed one, or a bare IPv6 literal without brackets is not allowed.
func HostAllowed(host, listenHost string, allowed []string) bool {
	name, ok := hostName(host)
	if !ok {
		return false
	}
	if ip, err := netip.ParseAddr(name); err == nil {
		if ip.Zone() != "" {
			return false
		}
		if ip.Unmap().IsLoopback() {
			return true
		}
		return sameHost(ip, listenHost) || containsHost(allowed, ip)
	}
	if name == "localhost" || (strings.HasSuffix(name, ".localhost") && len(name) > len(".localhost")) {
		return true
	}
	return strings.EqualFold(name, strings.Trim(listenHost, "[]")) || containsName(allowed, name)
}

// hostName returns the lowercase host of a Host header, without a port or
// IPv6 brackets. It reports false for a Host that is empty or not
// host[:port].
func hostName(host string) (string, bool) {
	if host == "" || strings.ContainsAny(host, " \t/\\@?#") {
		return "", false
	}
	name := host
	if h, port, err := net.SplitHostPort(host); err == nil {
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return "", false
		}
		name = h
		if strings.Contains(name, ":") && !strings.HasPrefix(host, "[") {
			return "", false
		}
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		name = host[1 : len(host)-1]
		if !strings.Contains(name, ":") {
			return "", false
		}
	} else if strings.Contains(host, ":") {
		return "", false // a bare IPv6 literal, or host:port gone wrong
	}
	if name == "" {
		return "", false
	}
	return strings.ToLower(name), true
}

func sameHost(ip netip.Addr, listenHost string) bool {
	l, err := netip.ParseAddr(strings.Trim(listenHost, "[]"))
	return err == nil && l.Unmap() == ip.Unmap()
}

func containsHost(allowed []string, ip netip.Addr) bool {
	for _, a := range allowed {
		if sameHost(ip, a) {
			return true
		}
	}
	return false
}

func containsName(allowed []string, name string) bool {
	for _, a := range allowed {
		if strings.EqualFold(a, name) {
			return true
		}
	}
	return false
}

// Reasons a request is refused, as counted in metrics and logged.
const (
	// RefusedHost: an origin-form request whose Host does not name this
	// proxy (DNS rebinding, or a missing Host).
	RefusedHost = "host_not_allowed"
	// RefusedOrigin: a request with an Origin not in cors.allowed_origins.
	RefusedOrigin = "origin_not_allowed"
	// RefusedFetchSite: Sec-Fetch-Site cross-site or same-site with no
	// allowed Origin (images, scripts, navigations).
	RefusedFetchSite = "cross_site"
)

// BrowserVerdict is what JudgeBrowser decides about one request.
type BrowserVerdict struct {
	// Refused is the reason the request must be refused (one of the
	// Refused… constants), or "".
	Refused string
	// CORSOrigin is the allowed origin the request came from, to be echoed
	// in Access-Control-Allow-Origin; "" when the request carries no
	// allowed cross-origin Origin (a program, or a same-origin request).
	CORSOrigin string
	// Preflight reports a CORS preflight (OPTIONS with
	// Access-Control-Request-Method) from CORSOrigin: the proxy answers it
	// itself with PreflightHeaders, never forwarding it.
	Preflight bool
}

// JudgeBrowser decides about a request with method and header h. allowed
// are the exact origins of cors.allowed_origins (lowercase, no default
// port, as browsers serialize them). selfOrigin is this proxy's own origin
// as the request names it ("http://" + its allowed Host) for origin-form
// requests, "" otherwise: a page the proxy serves itself may call it.
//
// A request is refused when it carries an Origin that is neither allowed
// nor selfOrigin (also "null", an empty value, or several Origin headers),
// or when it carries no such Origin and Sec-Fetch-Site says cross-site or
// same-site. Sec-Fetch-Mode is not looked at.
func JudgeBrowser(method string, h http.Header, allowed []string, selfOrigin string) BrowserVerdict {
	origins := h.Values("Origin")
	if len(origins) > 1 {
		return BrowserVerdict{Refused: RefusedOrigin}
	}
	if len(origins) == 1 {
		o := strings.TrimSpace(origins[0])
		switch {
		case o != "" && selfOrigin != "" && strings.EqualFold(o, selfOrigin):
			return BrowserVerdict{}
		case o != "" && containsExact(allowed, o):
			return BrowserVerdict{CORSOrigin: o, Preflight: IsPreflight(method, h)}
		}
		return BrowserVerdict{Refused: RefusedOrigin}
	}
	for _, v := range h.Values("Sec-Fetch-Site") {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "cross-site", "same-site":
			return BrowserVerdict{Refused: RefusedFetchSite}
		}
	}
	return BrowserVerdict{}
}

func containsExact(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// IsPreflight reports whether a request is a CORS preflight: OPTIONS with
// an Access-Control-Request-Method header.
func IsPreflight(method string, h http.Header) bool {
	return method == http.MethodOptions && h.Get("Access-Control-Request-Method") != ""
}

// CORS answers for allowed origins.
const (
	// CORSAllowMethods are Notion's methods, and HEAD.
	CORSAllowMethods = "GET, HEAD, POST, PATCH, DELETE"
	// CORSAllowHeaders are the headers a page may send: Notion's, and the
	// user-agent the official SDK sets.
	CORSAllowHeaders = "authorization, content-type, notion-version, user-agent"
	// CORSExposeHeaders are the answer headers a page may read besides the
	// CORS-safelisted ones.
	CORSExposeHeaders = "x-notion-request-id, retry-after"
	// CORSMaxAge is how long, in seconds, a browser may keep a preflight's
	// answer.
	CORSMaxAge = "600"
)

// PreflightHeaders are the headers of the proxy's own answer (204) to a
// preflight from origin, an allowed origin, whose request headers are
// req. A Private Network Access preflight
// (Access-Control-Request-Private-Network: true) is allowed too.
func PreflightHeaders(origin string, req http.Header) http.Header {
	h := http.Header{
		"Access-Control-Allow-Origin":  {origin},
		"Access-Control-Allow-Methods": {CORSAllowMethods},
		"Access-Control-Allow-Headers": {CORSAllowHeaders},
		"Access-Control-Max-Age":       {CORSMaxAge},
		"Vary":                         {"Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network"},
	}
	if strings.EqualFold(strings.TrimSpace(req.Get("Access-Control-Request-Private-Network")), "true") {
		h.Set("Access-Control-Allow-Private-Network", "true")
	}
	return h
}

// AnswerCORSHeaders are the headers set on every answer (Notion's or the
// proxy's own) to a request from origin, an allowed origin.
func AnswerCORSHeaders(origin string) http.Header {
	return http.Header{
		"Access-Control-Allow-Origin":   {origin},
		"Access-Control-Expose-Headers": {CORSExposeHeaders},
		"Vary":                          {"Origin"},
	}
}

// StripCORSHeaders removes the Access-Control-… headers of an upstream
// answer, so that only the proxy's own decide what a page may read.
func StripCORSHeaders(h http.Header) {
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			delete(h, k)
		}
	}
}
