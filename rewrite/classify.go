package rewrite

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// NotionHost is the host name the proxy intercepts: calls to it get the
// profile's token, calls to any other host never do.
const NotionHost = "api.notion.com"

// maxErrorBody bounds how many decoded bytes are examined when classifying a
// response body. Notion's error bodies are a few hundred bytes; anything
// larger than this is not one, and a gzip bomb cannot make the proxy inflate
// more than this.
const maxErrorBody = 1 << 20

// codeUnauthorized is the code of Notion's invalid-token answer. Notion
// sends it in lower case; matching is exact.
const codeUnauthorized = "unauthorized"

// IsInvalidToken reports whether an upstream answer is Notion's
// invalid-token answer: status 401 and a JSON object body whose "code" is
// exactly "unauthorized" (the answer for an invalid, revoked, regenerated or
// expired token). The body is decoded as by [ErrorCode], so a gzip-encoded
// body is recognised too.
//
// Answers that did not come from Notion itself are never invalid-token
// answers: a response carrying a Cf-Ray header but no X-Notion-Request-Id
// header is a page of the CDN in front of Notion and gives false whatever its
// body. Any other status, any other code (for example 403
// "restricted_resource"), and empty, non-JSON, truncated or oversized bodies
// also give false.
//
// IsInvalidToken only reads header and body.
func IsInvalidToken(status int, header http.Header, body []byte) bool {
	if status != http.StatusUnauthorized {
		return false
	}
	if headerValue(header, "Cf-Ray") != "" && headerValue(header, "X-Notion-Request-Id") == "" {
		return false
	}
	return ErrorCode(header, body) == codeUnauthorized
}

// ErrorCode returns the "code" member of a Notion JSON error body, or "" when
// the body is not a JSON object, has no "code" member, or its "code" is not
// a string. The member name must be exactly "code".
//
// When header says Content-Encoding: gzip (or x-gzip), body is gunzipped
// first; a body that does not gunzip, or any other content coding, gives "".
// At most 1 MiB of decoded body is examined: a larger body gives "".
//
// ErrorCode only reads header and body; header may be nil.
func ErrorCode(header http.Header, body []byte) string {
	decoded, ok := decodeBody(header, body)
	if !ok {
		return ""
	}
	var object map[string]json.RawMessage
	if err := json.Unmarshal(decoded, &object); err != nil {
		return ""
	}
	raw, ok := object["code"]
	if !ok {
		return ""
	}
	var code string
	if err := json.Unmarshal(raw, &code); err != nil {
		return ""
	}
	return code
}

// decodeBody undoes the response's content coding, reading at most
// maxErrorBody decoded bytes. ok is false when the body cannot be decoded or
// is too large.
func decodeBody(header http.Header, body []byte) (decoded []byte, ok bool) {
	gzipped := false
	for _, value := range headerValues(header, "Content-Encoding") {
		for coding := range strings.SplitSeq(value, ",") {
			coding = strings.TrimSpace(coding)
			switch {
			case coding == "", strings.EqualFold(coding, "identity"):
			case !gzipped && (strings.EqualFold(coding, "gzip") || strings.EqualFold(coding, "x-gzip")):
				gzipped = true
			default:
				// Another coding, or gzip twice: not something this
				// package decodes, so not a readable error body.
				return nil, false
			}
		}
	}
	if !gzipped {
		if len(body) > maxErrorBody {
			return nil, false
		}
		return body, true
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, false
	}
	decoded, err = io.ReadAll(io.LimitReader(zr, maxErrorBody+1))
	if err != nil || len(decoded) > maxErrorBody {
		return nil, false
	}
	return decoded, true
}

// headerValues returns the values of the header name (given in canonical
// form). Header maps built by net/http have canonical keys; for maps built by
// hand the first key equal to name ignoring case is used.
func headerValues(h http.Header, name string) []string {
	if values, ok := h[name]; ok {
		return values
	}
	for key, values := range h {
		if strings.EqualFold(key, name) {
			return values
		}
	}
	return nil
}

// headerValue returns the first value of the header name, or "".
func headerValue(h http.Header, name string) string {
	if values := headerValues(h, name); len(values) > 0 {
		return values[0]
	}
	return ""
}
