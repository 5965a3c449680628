package rewrite_test

import (
	"testing"

	"github.com/notion-proxy/notion-proxy/rewrite"
)

func TestIsOAuthEndpoint(t *testing.T) {
	tests := []struct {
		name string
		path string
		want bool
	}{
		{"the token endpoint is an OAuth endpoint", "/v1/oauth/token", true},
		{"the introspect endpoint is an OAuth endpoint", "/v1/oauth/introspect", true},
		{"the revoke endpoint is an OAuth endpoint", "/v1/oauth/revoke", true},
		{"the token endpoint with a trailing slash is an OAuth endpoint", "/v1/oauth/token/", true},
		{"the revoke endpoint with a trailing slash is an OAuth endpoint", "/v1/oauth/revoke/", true},
		{"two trailing slashes are not tolerated", "/v1/oauth/token//", false},
		{"the OAuth authorize page is not an API endpoint of the proxy's", "/v1/oauth/authorize", false},
		{"the OAuth prefix alone is not an OAuth endpoint", "/v1/oauth/", false},
		{"a page path is not an OAuth endpoint", "/v1/pages/59833787-2cf9-4fdf-8782-e53db20768a5", false},
		{"users/me is not an OAuth endpoint", "/v1/users/me", false},
		{"an OAuth path under another prefix is not an OAuth endpoint", "/v2/oauth/token", false},
		{"a path that only starts like the token endpoint is not an OAuth endpoint", "/v1/oauth/tokens", false},
		{"a path below the token endpoint is not an OAuth endpoint", "/v1/oauth/token/extra", false},
		{"matching is case-sensitive", "/V1/OAuth/Token", false},
		{"a path without its leading slash is not an OAuth endpoint", "v1/oauth/token", false},
		{"the empty path is not an OAuth endpoint", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewrite.IsOAuthEndpoint(tt.path); got != tt.want {
				t.Errorf("IsOAuthEndpoint(%q) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

func TestIsRetrySafe(t *testing.T) {
	const id = "59833787-2cf9-4fdf-8782-e53db20768a5"
	tests := []struct {
		name   string
		method string
		path   string
		want   bool
	}{
		{"a GET is retry-safe", "GET", "/v1/pages/" + id, true},
		{"a HEAD is retry-safe", "HEAD", "/v1/users/me", true},
		{"a GET on any path is retry-safe", "GET", "/anything/at/all", true},
		{"a search is retry-safe", "POST", "/v1/search", true},
		{"a search with a trailing slash is retry-safe", "POST", "/v1/search/", true},
		{"a database query is retry-safe", "POST", "/v1/databases/" + id + "/query", true},
		{"a database query with a trailing slash is retry-safe", "POST", "/v1/databases/" + id + "/query/", true},
		{"a data source query is retry-safe", "POST", "/v1/data_sources/" + id + "/query", true},
		{"a data source query with a trailing slash is retry-safe", "POST", "/v1/data_sources/" + id + "/query/", true},
		{"a database query with a short id is retry-safe", "POST", "/v1/databases/abc/query", true},
		{"creating a page is not retry-safe", "POST", "/v1/pages", false},
		{"creating a database is not retry-safe", "POST", "/v1/databases", false},
		{"creating a comment is not retry-safe", "POST", "/v1/comments", false},
		{"an OAuth token exchange is not retry-safe", "POST", "/v1/oauth/token", false},
		{"a database query with an empty id is not retry-safe", "POST", "/v1/databases//query", false},
		{"a database query with a two-segment id is not retry-safe", "POST", "/v1/databases/a/b/query", false},
		{"a database query whose id is the parent directory is not retry-safe", "POST", "/v1/databases/../query", false},
		{"a database query whose id is the current directory is not retry-safe", "POST", "/v1/databases/./query", false},
		{"a database query with a suffix is not retry-safe", "POST", "/v1/databases/" + id + "/query/more", false},
		{"a database query with two trailing slashes is not retry-safe", "POST", "/v1/databases/" + id + "/query//", false},
		{"a database query without an id is not retry-safe", "POST", "/v1/databases/query", false},
		{"a search with two trailing slashes is not retry-safe", "POST", "/v1/search//", false},
		{"a search under another prefix is not retry-safe", "POST", "/v2/search", false},
		{"a POST to a path that merely contains search is not retry-safe", "POST", "/v1/search/pages", false},
		{"a PATCH of a page is not retry-safe", "PATCH", "/v1/pages/" + id, false},
		{"a PATCH on a query path is not retry-safe", "PATCH", "/v1/databases/" + id + "/query", false},
		{"a DELETE of a block is not retry-safe", "DELETE", "/v1/blocks/" + id, false},
		{"a PUT on the search path is not retry-safe", "PUT", "/v1/search", false},
		{"an OPTIONS is not retry-safe", "OPTIONS", "/v1/search", false},
		{"a lower-case get is not a GET", "get", "/v1/users/me", false},
		{"a lower-case post is not a POST", "post", "/v1/search", false},
		{"an empty method is not retry-safe", "", "/v1/search", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rewrite.IsRetrySafe(tt.method, tt.path); got != tt.want {
				t.Errorf("IsRetrySafe(%q, %q) = %v, want %v", tt.method, tt.path, got, tt.want)
			}
		})
	}
}
