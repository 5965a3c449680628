package rewrite

import (
	"net/http"
	"strings"
)

// IsOAuthEndpoint reports whether path (a request's URL path, without query)
// is one of Notion's OAuth endpoints: /v1/oauth/token, /v1/oauth/introspect
// or /v1/oauth/revoke, optionally with one trailing slash. These endpoints
// authenticate with the program's own HTTP Basic client credentials, so
// their Authorization header is passed through untouched and they are never
// paused. Matching is exact and case-sensitive, like Notion's routing.
func IsOAuthEndpoint(path string) bool {
	switch trimTrailingSlash(path) {
	case "/v1/oauth/token", "/v1/oauth/introspect", "/v1/oauth/revoke":
		return true
	}
	return false
}

// IsRetrySafe reports whether a call may be sent again after a transient
// failure (a 500, 502, 503 or 504 answer, or a connection error before any
// answer): Notion may have run it, so only calls that change nothing
// qualify.
//
// Those are GET and HEAD on any path, and POST on Notion's read-only
// endpoints /v1/search, /v1/databases/{id}/query and
// /v1/data_sources/{id}/query, where {id} is one non-empty path segment and
// one trailing slash is tolerated. Methods are matched exactly (HTTP methods
// are case-sensitive). Every other call gives false.
//
// Rate-limited answers (see [IsRateLimited]) are a different case: Notion
// did not run the call, so any method may be resent.
func IsRetrySafe(method, path string) bool {
	switch method {
	case http.MethodGet, http.MethodHead:
		return true
	case http.MethodPost:
		return isReadOnlyPost(path)
	}
	return false
}

// isReadOnlyPost reports whether path is one of the POST endpoints of Notion
// that only read.
func isReadOnlyPost(path string) bool {
	path = trimTrailingSlash(path)
	if path == "/v1/search" {
		return true
	}
	for _, collection := range [...]string{"/v1/databases/", "/v1/data_sources/"} {
		rest, ok := strings.CutPrefix(path, collection)
		if !ok {
			continue
		}
		id, ok := strings.CutSuffix(rest, "/query")
		return ok && isPathSegment(id)
	}
	return false
}

// isPathSegment reports whether s is one non-empty path segment that names
// something, rather than the current or parent directory.
func isPathSegment(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.Contains(s, "/")
}

// trimTrailingSlash removes one trailing slash.
func trimTrailingSlash(path string) string {
	return strings.TrimSuffix(path, "/")
}
