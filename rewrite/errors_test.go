package rewrite_test

import (
	"encoding/json"
	"testing"

	"github.com/notion-proxy/notion-proxy/rewrite"
)

func TestErrorBody(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		code    string
		message string
		want    string
	}{
		{
			"an unreachable upstream gets Notion's error shape",
			502, "proxy_upstream_unreachable", "notion-proxy could not reach https://api.notion.com: connection refused",
			`{"object":"error","status":502,"code":"proxy_upstream_unreachable","message":"notion-proxy could not reach https://api.notion.com: connection refused"}`,
		},
		{
			"a too-large body gets a 413 in Notion's error shape",
			413, "proxy_body_too_large", "request body exceeds max_body_bytes (52428800)",
			`{"object":"error","status":413,"code":"proxy_body_too_large","message":"request body exceeds max_body_bytes (52428800)"}`,
		},
		{
			"quotes, backslashes and control characters are escaped",
			400, "bad\"code", "line1\nline2\t\"quoted\" \\ end\x01",
			`{"object":"error","status":400,"code":"bad\"code","message":"line1\nline2\t\"quoted\" \\ end\u0001"}`,
		},
		{
			"empty code and message are still present",
			500, "", "",
			`{"object":"error","status":500,"code":"","message":""}`,
		},
		{
			"invalid UTF-8 becomes the replacement character",
			400, "validation_error", "bad \xff byte",
			`{"object":"error","status":400,"code":"validation_error","message":"bad \ufffd byte"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rewrite.ErrorBody(tt.status, tt.code, tt.message)
			if string(got) != tt.want {
				t.Errorf("ErrorBody(%d, %q, %q)\n got %s\nwant %s", tt.status, tt.code, tt.message, got, tt.want)
			}
			var decoded struct {
				Object, Code string
				Status       int
			}
			if err := json.Unmarshal(got, &decoded); err != nil {
				t.Fatalf("ErrorBody gave invalid JSON: %v", err)
			}
			if decoded.Object != "error" || decoded.Status != tt.status {
				t.Errorf("decoded %+v, want object error and status %d", decoded, tt.status)
			}
			if code := rewrite.ErrorCode(nil, got); code != tt.code {
				t.Errorf("ErrorCode of the body = %q, want %q", code, tt.code)
			}
		})
	}
}

func TestInvalidTokenBodyIsNotionsOwn(t *testing.T) {
	const want = `{"object":"error","status":401,"code":"unauthorized","message":"API token is invalid."}`
	if got := rewrite.InvalidTokenBody(); string(got) != want {
		t.Errorf("InvalidTokenBody() = %s, want %s", got, want)
	}
}

func TestInvalidTokenBodyReturnsAFreshSliceEachCall(t *testing.T) {
	first := rewrite.InvalidTokenBody()
	first[0] = 'X'
	if second := rewrite.InvalidTokenBody(); second[0] != '{' {
		t.Errorf("a caller's change to one InvalidTokenBody leaked into the next: %s", second)
	}
}
