package rewrite_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/notion-proxy/notion-proxy/rewrite"
)

func ExampleOutgoing_Apply() {
	h := http.Header{}
	h.Set("Authorization", "Bearer ntn_placeholder")
	h.Set("Proxy-Authorization", "Basic YWxpY2U6czNjcmV0")

	out := rewrite.Outgoing{Token: "ntn_current", NotionVersion: "2022-06-28"}
	out.Apply(h, "/v1/users/me")

	fmt.Println(h.Get("Authorization"))
	fmt.Println(h.Get("Notion-Version"))
	fmt.Println(h.Get("Proxy-Authorization") == "")
	// Output:
	// Bearer ntn_current
	// 2022-06-28
	// true
}

func ExampleIsInvalidToken() {
	body := []byte(`{"object":"error","status":401,"code":"unauthorized","message":"API token is invalid.","request_id":"9b1c5a7e"}`)
	h := http.Header{"X-Notion-Request-Id": {"9b1c5a7e"}}
	fmt.Println(rewrite.IsInvalidToken(401, h, body))
	fmt.Println(rewrite.IsInvalidToken(403, h, []byte(`{"object":"error","status":403,"code":"restricted_resource","message":"Insufficient permissions for this endpoint."}`)))
	// Output:
	// true
	// false
}

func ExampleRetryAfter() {
	now := time.Date(2025, time.March, 14, 9, 0, 0, 0, time.UTC)
	d, ok := rewrite.RetryAfter("1.5", now)
	fmt.Println(d, ok)
	d, ok = rewrite.RetryAfter("Fri, 14 Mar 2025 09:00:30 GMT", now)
	fmt.Println(d, ok)
	// Output:
	// 1.5s true
	// 30s true
}

func ExampleFingerprint() {
	fmt.Println(rewrite.Fingerprint("ntn_1234567890abcdefghijklmnopqrstuvwxyzABCDa1b2"))
	fmt.Println(rewrite.Fingerprint(""))
	// Output:
	// ntn_…a1b2 #81789a
	// (none)
}

func ExampleErrorBody() {
	fmt.Printf("%s\n", rewrite.ErrorBody(502, "proxy_upstream_unreachable", "upstream unreachable: connection refused"))
	// Output:
	// {"object":"error","status":502,"code":"proxy_upstream_unreachable","message":"upstream unreachable: connection refused"}
}
