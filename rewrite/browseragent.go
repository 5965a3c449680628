package rewrite

import (
	"net/http"
	"strings"
)

// Browsers that send no Fetch Metadata (docs/design.md#browsers).
// Browsers send Sec-Fetch-Site only to potentially trustworthy URLs
// (https, loopback IP literals, localhost): to plain http:// on any other
// name (a name in allowed_hosts, or http://api.notion.com through a
// browser that uses the proxy as its HTTP proxy) an <img>, a <script>, an
// iframe or a no-cors GET fetch carries neither Origin nor Sec-Fetch-Site.
// Browsers made before Fetch Metadata (Chrome 76, Firefox 90, Safari 16.4)
// send it nowhere, loopback included. What such a request still carries is
// the browser's User-Agent, which every browser starts with "Mozilla/",
// and which none of the programs the proxy serves sends (curl, Go,
// Python, Node's fetch "node", the official SDK "notionhq-client/…").
// A page can neither drop it nor add a Sec-Fetch-* header (a forbidden
// header name), so a program that must send a browser-like User-Agent
// says it is no page with Sec-Fetch-Site: none, as a browser does for an
// address typed by its user.

// RefusedUserAgent: a request bound for Notion with a browser's
// User-Agent and neither Sec-Fetch-Site nor an allowed Origin (an image,
// a script, a navigation or a no-cors GET of a page, sent to a URL its
// browser gives no Fetch Metadata to).
const RefusedUserAgent = "browser_user_agent"

// JudgeNotionCall is JudgeBrowser for a request that would go to Notion
// with the user's token (a base-URL /v1/ call, a forward-proxy request to
// Notion, a request in an intercepted tunnel); admin endpoints keep
// JudgeBrowser alone, so that a person's browser may open the status page
// on any allowed host name. Besides JudgeBrowser's refusals, a request
// with no Origin at all, no non-empty Sec-Fetch-Site, and a User-Agent
// starting with "Mozilla/" (BrowserUserAgent) is refused with
// RefusedUserAgent, whatever its Host.
func JudgeNotionCall(method string, h http.Header, allowed []string, selfOrigin string) BrowserVerdict {
	v := JudgeBrowser(method, h, allowed, selfOrigin)
	if v.Refused != "" || len(h.Values("Origin")) > 0 || hasFetchSite(h) || !BrowserUserAgent(h) {
		return v
	}
	return BrowserVerdict{Refused: RefusedUserAgent}
}

// BrowserUserAgent reports whether any User-Agent header of h is a web
// browser's: it starts with "Mozilla/" (without case, after spaces), as
// that of every browser in use does.
func BrowserUserAgent(h http.Header) bool {
	for _, ua := range h.Values("User-Agent") {
		ua = strings.TrimSpace(ua)
		if len(ua) >= len("Mozilla/") && strings.EqualFold(ua[:len("Mozilla/")], "Mozilla/") {
			return true
		}
	}
	return false
}

// hasFetchSite reports whether h carries a Sec-Fetch-Site with a value:
// sent by a browser only to a trustworthy URL, where JudgeBrowser judges
// it, and never settable by a page.
func hasFetchSite(h http.Header) bool {
	for _, v := range h.Values("Sec-Fetch-Site") {
		if strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}
