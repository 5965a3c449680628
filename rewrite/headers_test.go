package rewrite_test

import (
	"net/http"
	"reflect"
	"testing"

	"github.com/notion-proxy/notion-proxy/rewrite"
)

func TestOutgoingApply(t *testing.T) {
	out := rewrite.Outgoing{Token: "ntn_current", NotionVersion: "2022-06-28"}
	tests := []struct {
		name string
		out  rewrite.Outgoing
		path string
		in   http.Header
		want http.Header
	}{
		{
			name: "a stale token is replaced by the current one and a missing version is added",
			out:  out, path: "/v1/users/me",
			in:   http.Header{"Authorization": {"Bearer ntn_stale"}, "Accept": {"application/json"}},
			want: http.Header{"Authorization": {"Bearer ntn_current"}, "Notion-Version": {"2022-06-28"}, "Accept": {"application/json"}},
		},
		{
			name: "a call without any Authorization gets the current token",
			out:  out, path: "/v1/search",
			in:   http.Header{"Notion-Version": {"2025-09-03"}},
			want: http.Header{"Authorization": {"Bearer ntn_current"}, "Notion-Version": {"2025-09-03"}},
		},
		{
			name: "the version the program sent is kept",
			out:  out, path: "/v1/pages",
			in:   http.Header{"Notion-Version": {"2025-09-03"}, "Authorization": {"Bearer ntn_current"}},
			want: http.Header{"Notion-Version": {"2025-09-03"}, "Authorization": {"Bearer ntn_current"}},
		},
		{
			name: "an empty version is replaced by the configured one",
			out:  out, path: "/v1/pages",
			in:   http.Header{"Notion-Version": {""}},
			want: http.Header{"Notion-Version": {"2022-06-28"}, "Authorization": {"Bearer ntn_current"}},
		},
		{
			name: "a blank version is replaced by the configured one",
			out:  out, path: "/v1/pages",
			in:   http.Header{"Notion-Version": {"  "}},
			want: http.Header{"Notion-Version": {"2022-06-28"}, "Authorization": {"Bearer ntn_current"}},
		},
		{
			name: "with no configured version and none sent no version is added",
			out:  rewrite.Outgoing{Token: "ntn_current"}, path: "/v1/pages",
			in:   http.Header{"Notion-Version": {""}},
			want: http.Header{"Authorization": {"Bearer ntn_current"}},
		},
		{
			name: "Expect: 100-continue is removed, in any letter case",
			out:  out, path: "/v1/pages",
			in:   http.Header{"Expect": {"100-continue"}, "expect": {"100-continue"}, "Notion-Version": {"2022-06-28"}},
			want: http.Header{"Authorization": {"Bearer ntn_current"}, "Notion-Version": {"2022-06-28"}},
		},
		{
			name: "proxy credentials and Proxy-Connection are removed",
			out:  out, path: "/v1/users/me",
			in:   http.Header{"Proxy-Authorization": {"Basic YWxpY2U6cHc="}, "Proxy-Connection": {"keep-alive"}, "Notion-Version": {"2022-06-28"}},
			want: http.Header{"Authorization": {"Bearer ntn_current"}, "Notion-Version": {"2022-06-28"}},
		},
		{
			name: "several Authorization values become exactly one",
			out:  out, path: "/v1/users/me",
			in:   http.Header{"Authorization": {"Bearer a", "Bearer b"}},
			want: http.Header{"Authorization": {"Bearer ntn_current"}, "Notion-Version": {"2022-06-28"}},
		},
		{
			name: "Basic credentials on a non-OAuth path are replaced too",
			out:  out, path: "/v1/users/me",
			in:   http.Header{"Authorization": {"Basic Y2xpZW50OnNlY3JldA=="}},
			want: http.Header{"Authorization": {"Bearer ntn_current"}, "Notion-Version": {"2022-06-28"}},
		},
		{
			name: "a differently-cased Bearer is replaced by the canonical form",
			out:  out, path: "/v1/users/me",
			in:   http.Header{"Authorization": {"bearer ntn_current"}},
			want: http.Header{"Authorization": {"Bearer ntn_current"}, "Notion-Version": {"2022-06-28"}},
		},
		{
			name: "hand-built non-canonical header names are rewritten too",
			out:  out, path: "/v1/users/me",
			in:   http.Header{"authorization": {"Bearer ntn_stale"}, "proxy-authorization": {"Basic x"}, "PROXY-CONNECTION": {"close"}, "notion-version": {"2025-09-03"}},
			want: http.Header{"Authorization": {"Bearer ntn_current"}, "notion-version": {"2025-09-03"}},
		},
		{
			name: "the OAuth token endpoint keeps the program's Basic client credentials",
			out:  out, path: "/v1/oauth/token",
			in:   http.Header{"Authorization": {"Basic Y2xpZW50OnNlY3JldA=="}, "Proxy-Authorization": {"Basic x"}, "Content-Type": {"application/json"}},
			want: http.Header{"Authorization": {"Basic Y2xpZW50OnNlY3JldA=="}, "Notion-Version": {"2022-06-28"}, "Content-Type": {"application/json"}},
		},
		{
			name: "the OAuth revoke endpoint with a trailing slash keeps its Authorization",
			out:  out, path: "/v1/oauth/revoke/",
			in:   http.Header{"Authorization": {"Basic Y2xpZW50OnNlY3JldA=="}, "Notion-Version": {"2022-06-28"}},
			want: http.Header{"Authorization": {"Basic Y2xpZW50OnNlY3JldA=="}, "Notion-Version": {"2022-06-28"}},
		},
		{
			name: "an OAuth call without Authorization is not given the profile's token",
			out:  out, path: "/v1/oauth/introspect",
			in:   http.Header{},
			want: http.Header{"Notion-Version": {"2022-06-28"}},
		},
		{
			name: "other hop-by-hop headers are left for the proxy layer",
			out:  out, path: "/v1/users/me",
			in:   http.Header{"Connection": {"keep-alive"}, "Te": {"trailers"}},
			want: http.Header{"Connection": {"keep-alive"}, "Te": {"trailers"}, "Authorization": {"Bearer ntn_current"}, "Notion-Version": {"2022-06-28"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.in.Clone()
			tt.out.Apply(h, tt.path)
			if !reflect.DeepEqual(h, tt.want) {
				t.Errorf("Apply(%v, %q)\n got %v\nwant %v", tt.in, tt.path, h, tt.want)
			}
		})
	}
}

func TestOutgoingApplyDoesNotWriteIntoSharedValueSlices(t *testing.T) {
	shared := []string{"Bearer ntn_stale"}
	h := http.Header{"Authorization": shared}
	rewrite.Outgoing{Token: "ntn_current", NotionVersion: "2022-06-28"}.Apply(h, "/v1/users/me")
	if shared[0] != "Bearer ntn_stale" {
		t.Errorf("Apply wrote into the program's value slice: %q", shared[0])
	}
}

func TestIsHopByHop(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"Connection", true},
		{"Proxy-Connection", true},
		{"Keep-Alive", true},
		{"Proxy-Authenticate", true},
		{"Proxy-Authorization", true},
		{"Te", true},
		{"TE", true},
		{"Trailer", true},
		{"Transfer-Encoding", true},
		{"Upgrade", true},
		{"connection", true},
		{"proxy-authorization", true},
		{"KEEP-ALIVE", true},
		{"Authorization", false},
		{"Notion-Version", false},
		{"Content-Length", false},
		{"Content-Encoding", false},
		{"Trailers", false},
		{"X-Connection", false},
		{"", false},
	}
	for _, tt := range tests {
		verdict := "is not hop-by-hop"
		if tt.want {
			verdict = "is hop-by-hop"
		}
		t.Run(tt.name+" "+verdict, func(t *testing.T) {
			if got := rewrite.IsHopByHop(tt.name); got != tt.want {
				t.Errorf("IsHopByHop(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}
