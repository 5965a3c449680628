package rewrite

import (
	"net/http"
	"strings"
)

// Outgoing describes how the headers of an intercepted Notion call are
// rewritten before it goes upstream. The zero value is not useful: Token
// should be the profile's current token.
type Outgoing struct {
	Token         string // the profile's current token, sent as "Bearer <Token>"
	NotionVersion string // sent as Notion-Version when the program sent none
}

// Apply rewrites h, the header of the request about to go upstream to path,
// in place:
//
//   - Authorization becomes exactly one value, "Bearer <Token>", whatever the
//     program sent — a stale or placeholder token is replaced — except on
//     Notion's OAuth endpoints ([IsOAuthEndpoint]), whose Authorization
//     carries the program's own Basic client credentials and is kept
//     untouched.
//   - Proxy-Authorization and Proxy-Connection are removed, so the proxy's
//     own credentials never reach Notion.
//   - Expect is removed: the proxy has read the whole body before sending
//     (and answered the program's "Expect: 100-continue" itself), so
//     asking Notion for a 100 Continue only delays the send and gives the
//     program a second one.
//   - Notion-Version is set to NotionVersion only when the program sent none
//     or only blank (all white space) ones; a version the program sent is
//     kept. If NotionVersion is blank too, no Notion-Version is added.
//
// Header names are matched ignoring case, so a hand-built header with a
// non-canonical key such as "proxy-authorization" is rewritten too. Other
// headers are left alone. Token is used verbatim; the caller is responsible
// for it being a valid header value. h must not be nil.
//
// Apply allocates at most three times (the Authorization value, its slice
// and the Notion-Version slice), and not at all when the program already
// sent "Bearer <Token>" and a Notion-Version.
func (o Outgoing) Apply(h http.Header, path string) {
	keepAuthorization := IsOAuthEndpoint(path)
	versionSent := false
	for name, values := range h {
		switch {
		case strings.EqualFold(name, "Proxy-Authorization"), strings.EqualFold(name, "Proxy-Connection"),
			strings.EqualFold(name, "Expect"):
			delete(h, name)
		case strings.EqualFold(name, "Authorization"):
			if !keepAuthorization && name != "Authorization" {
				delete(h, name)
			}
		case strings.EqualFold(name, "Notion-Version"):
			if hasNonBlank(values) {
				versionSent = true
			} else {
				delete(h, name)
			}
		}
	}
	if !keepAuthorization && !isBearerFor(h["Authorization"], o.Token) {
		h["Authorization"] = []string{"Bearer " + o.Token}
	}
	if !versionSent && strings.TrimSpace(o.NotionVersion) != "" {
		h["Notion-Version"] = []string{o.NotionVersion}
	}
}

// isBearerFor reports whether values is exactly one value equal to
// "Bearer " + token, without building that string.
func isBearerFor(values []string, token string) bool {
	if len(values) != 1 {
		return false
	}
	rest, ok := strings.CutPrefix(values[0], "Bearer ")
	return ok && rest == token
}

// hasNonBlank reports whether any of values has a character other than
// white space.
func hasNonBlank(values []string) bool {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// IsHopByHop reports whether the header name, in any letter case, is a
// hop-by-hop header: Connection, Proxy-Connection, Keep-Alive,
// Proxy-Authenticate, Proxy-Authorization, Te, Trailer, Transfer-Encoding or
// Upgrade. Headers listed in a Connection header's value are hop-by-hop for
// that message too; IsHopByHop does not know about them.
func IsHopByHop(name string) bool {
	// RFC 9110 section 7.6.1, plus the legacy Proxy-Connection.
	hopByHop := [...]string{
		"Connection",
		"Proxy-Connection",
		"Keep-Alive",
		"Proxy-Authenticate",
		"Proxy-Authorization",
		"Te",
		"Trailer",
		"Transfer-Encoding",
		"Upgrade",
	}
	for _, h := range hopByHop {
		if strings.EqualFold(name, h) {
			return true
		}
	}
	return false
}
