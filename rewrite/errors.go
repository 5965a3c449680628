package rewrite

import (
	"encoding/json"
	"net/http"
)

// Error codes that more than one part of the proxy answers with, in
// ErrorBody's code (docs/design.md#errors): the proxy's own answers and its
// admin endpoints give the same words for the same mistakes.
const (
	// CodeBadRequest: the request cannot be understood (a body or a
	// request target the proxy cannot read).
	CodeBadRequest = "proxy_bad_request"
	// CodeNotFound: no such path on the proxy itself (an admin endpoint,
	// a page file, a path that is not Notion's).
	CodeNotFound = "proxy_not_found"
)

// notionError is the shape of Notion's error bodies, in Notion's field order.
type notionError struct {
	Object  string `json:"object"`
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ErrorBody returns a JSON body in Notion's error shape,
//
//	{"object":"error","status":<status>,"code":"<code>","message":"<message>"}
//
// with code and message JSON-escaped (invalid UTF-8 becomes U+FFFD), so a
// program's Notion client parses the proxy's own answers (for example 502
// "proxy_upstream_unreachable") as it parses Notion's. Each call returns a
// new slice that the caller owns.
func ErrorBody(status int, code, message string) []byte {
	body, err := json.Marshal(notionError{Object: "error", Status: status, Code: code, Message: message})
	if err != nil {
		// Unreachable: the struct has only strings and an int.
		return []byte(`{"object":"error","status":500,"code":"internal_server_error","message":"notion-proxy could not encode an error"}`)
	}
	return body
}

// InvalidTokenBody returns Notion's own invalid-token body,
//
//	{"object":"error","status":401,"code":"unauthorized","message":"API token is invalid."}
//
// for answers the proxy gives on Notion's behalf, such as a 401 for a
// revoked profile. [IsInvalidToken] recognises it. Each call returns a new
// slice that the caller owns.
func InvalidTokenBody() []byte {
	return ErrorBody(http.StatusUnauthorized, codeUnauthorized, "API token is invalid.")
}
