package fakenotion

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strconv"
)

// Error messages. Where Notion's wording is known it is used verbatim:
// developers.notion.com/reference/status-codes ("message" example column)
// for unauthorized, missing_version, invalid_request_url, invalid_json,
// restricted_resource; a captured 429 body (makenotion/notion-sdk-js#284)
// for rate_limited. The others are plausible stand-ins: callers must key on
// "code", never on "message".
const (
	msgUnauthorized   = "API token is invalid."
	msgMissingVersion = "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`."
	msgInvalidURL     = "Invalid request URL."
	msgInvalidJSON    = "Error parsing JSON body."
	msgRateLimited    = "You have been rate limited. Please try again in a few minutes."
	msgInternal       = "Unexpected error occurred."
	msgBadGateway     = "Bad gateway. Please try again later."
	msgUnavailable    = "Notion is unavailable. Try again later."
	msgGatewayTimeout = "Notion timed out while attempting to complete this request. Please try again later."
	msgOverload       = "Notion is overloaded. Please try again later."
	msgRestricted     = "API token does not have access to this resource."
	msgConflict       = "Conflict occurred while saving. Please try again."
)

// errorFor returns Notion's error code and message for an HTTP status, as
// used by FailNext.
func errorFor(status int) (code, message string) {
	switch status {
	case http.StatusTooManyRequests:
		return "rate_limited", msgRateLimited
	case http.StatusInternalServerError:
		return "internal_server_error", msgInternal
	case http.StatusBadGateway:
		return "bad_gateway", msgBadGateway
	case http.StatusServiceUnavailable:
		return "service_unavailable", msgUnavailable
	case http.StatusGatewayTimeout:
		return "gateway_timeout", msgGatewayTimeout
	case 529:
		return "service_overload", msgOverload
	case http.StatusUnauthorized:
		return "unauthorized", msgUnauthorized
	case http.StatusForbidden:
		return "restricted_resource", msgRestricted
	case http.StatusNotFound:
		return "object_not_found", "Could not find the requested object."
	case http.StatusConflict:
		return "conflict_error", msgConflict
	case http.StatusBadRequest:
		return "invalid_request", "Unsupported request."
	}
	return "internal_server_error", msgInternal
}

// call is one request being answered.
type call struct {
	s         *Server
	w         http.ResponseWriter
	r         *http.Request
	ref       recordRef
	body      []byte
	sum       string // hex SHA-256 of body
	token     string // Bearer token, "" if none
	requestID string // x-notion-request-id and request_id of this answer
	echo      bool   // X-Fake-Echo: 1
}

// errorBody is Notion's error object, fields in Notion's order.
type errorBody struct {
	Object    string `json:"object"`
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	// AdditionalData carries e.g. a 429's rate_limit_reason.
	AdditionalData map[string]any `json:"additional_data,omitempty"`
	Echo           any            `json:"echo,omitempty"`
}

// echoInfo is the X-Fake-Echo debugging block.
func (c *call) echoInfo() map[string]any {
	return map[string]any{
		"headers":     c.r.Header,
		"body_sha256": c.sum,
		"query":       c.r.URL.RawQuery,
	}
}

// send writes a JSON answer with Notion's headers and records it.
func (c *call) send(status int, outcome string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, outcome = http.StatusInternalServerError, "encode_error"
		data = []byte(`{"object":"error","status":500,"code":"internal_server_error","message":"` + msgInternal + `"}`)
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	h.Set("X-Notion-Request-Id", c.requestID)
	c.s.finish(c.ref, status, outcome)
	c.w.WriteHeader(status)
	_, _ = c.w.Write(data)
}

// ok answers 200 with obj (a Notion object or list). obj may be a stored
// object: it is not modified.
func (c *call) ok(obj map[string]any) {
	if c.echo {
		obj = maps.Clone(obj)
		obj["echo"] = c.echoInfo()
	}
	c.send(http.StatusOK, OutcomeOK, obj)
}

// fail answers Notion's error object.
func (c *call) fail(status int, code, message, outcome string) {
	body := errorBody{Object: "error", Status: status, Code: code, Message: message, RequestID: c.requestID}
	if c.echo {
		body.Echo = c.echoInfo()
	}
	c.send(status, outcome, body)
}

// injectedError answers a FailNext failure.
func (c *call) injectedError(status int, retryAfter string) {
	if retryAfter != "" {
		c.w.Header().Set("Retry-After", retryAfter)
	}
	code, message := errorFor(status)
	c.fail(status, code, message, OutcomeInjected)
}

// redirect answers a RedirectNext redirect: status, Location exactly as
// given, a short HTML body, no x-notion-request-id.
func (c *call) redirect(status int, location string) {
	page := fmt.Sprintf("<a href=%q>%s</a>.\n", location, http.StatusText(status))
	h := c.w.Header()
	h.Set("Location", location)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(page)))
	c.s.finish(c.ref, status, OutcomeRedirected)
	c.w.WriteHeader(status)
	_, _ = c.w.Write([]byte(page))
}

// cdnError answers like Cloudflare in front of Notion: HTML, a cf-ray, no
// x-notion-request-id.
func (c *call) cdnError(status int) {
	text := http.StatusText(status)
	if text == "" {
		text = "Error"
	}
	page := fmt.Sprintf("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n", status, text, status, text)
	h := c.w.Header()
	h.Set("Content-Type", "text/html; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(page)))
	h.Set("Server", "cloudflare")
	h.Set("Cf-Ray", cfRay())
	h.Set("Cf-Cache-Status", "DYNAMIC")
	c.s.finish(c.ref, status, OutcomeCDNError)
	c.w.WriteHeader(status)
	_, _ = c.w.Write([]byte(page))
}

// drop closes the connection without answering.
func (c *call) drop() {
	hijacker, ok := c.w.(http.Hijacker)
	if !ok {
		c.fail(http.StatusInternalServerError, "internal_server_error", "fakenotion: cannot drop this connection", "drop_failed")
		return
	}
	conn, _, err := hijacker.Hijack()
	if err != nil {
		c.fail(http.StatusInternalServerError, "internal_server_error", "fakenotion: cannot drop this connection", "drop_failed")
		return
	}
	c.s.finish(c.ref, 0, OutcomeDropped)
	_ = conn.Close()
}

// abandon records a call whose caller went away (or whose fake is closing)
// and closes its connection without answering, so that nothing, not even
// net/http's default empty 200, reaches a caller still listening.
func (c *call) abandon() {
	c.s.finish(c.ref, 0, OutcomeCanceled)
	if hijacker, ok := c.w.(http.Hijacker); ok {
		if conn, _, err := hijacker.Hijack(); err == nil {
			_ = conn.Close()
		}
	}
}

// newRequestID returns a random UUID (version 4), the shape of Notion's
// request ids.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

// formatUUID writes 16 bytes in the 8-4-4-4-12 form.
func formatUUID(b [16]byte) string {
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// cfRay returns a Cloudflare ray id: 16 hex digits and a colo.
func cfRay() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:]) + "-SJC"
}
