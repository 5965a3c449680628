package proxy

import (
	"net/http"
	"testing"
)

func TestResumeRequestFramesTheAnswerAsTheParkedRequestAsked(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  http.Request
		want string
	}{
		{"an HTTP/1.1 call keeps its connection",
			http.Request{Method: "POST", ProtoMajor: 1, ProtoMinor: 1},
			"POST /-/resume HTTP/1.1\r\nHost: notion-proxy\r\n\r\n"},
		{"HEAD stays HEAD, so the answer has no body",
			http.Request{Method: "HEAD", ProtoMajor: 1, ProtoMinor: 1},
			"HEAD /-/resume HTTP/1.1\r\nHost: notion-proxy\r\n\r\n"},
		{"Connection: close is kept",
			http.Request{Method: "GET", ProtoMajor: 1, ProtoMinor: 1, Close: true},
			"GET /-/resume HTTP/1.1\r\nHost: notion-proxy\r\nConnection: close\r\n\r\n"},
		{"a chunked body closes the connection after the answer",
			http.Request{Method: "POST", ProtoMajor: 1, ProtoMinor: 1, TransferEncoding: []string{"chunked"}},
			"POST /-/resume HTTP/1.1\r\nHost: notion-proxy\r\nConnection: close\r\n\r\n"},
		{"HTTP/1.0 without keep-alive closes",
			http.Request{Method: "GET", ProtoMajor: 1, ProtoMinor: 0, Close: true},
			"GET /-/resume HTTP/1.0\r\nHost: notion-proxy\r\nConnection: close\r\n\r\n"},
		{"HTTP/1.0 with keep-alive keeps it",
			http.Request{Method: "GET", ProtoMajor: 1, ProtoMinor: 0},
			"GET /-/resume HTTP/1.0\r\nHost: notion-proxy\r\nConnection: keep-alive\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(resumeRequest(&tc.req)); got != tc.want {
				t.Errorf("resumeRequest = %q, want %q", got, tc.want)
			}
		})
	}
}
