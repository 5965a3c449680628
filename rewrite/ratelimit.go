package rewrite

import (
	"encoding/json"
	"strings"
	"unicode"
)

// maxReasonLen bounds a rate_limit_reason kept for logs and metric labels.
const maxReasonLen = 64

// RateLimitReason returns additional_data.rate_limit_reason of a Notion
// error body, which says which limit a 429 hit (developers.notion.com,
// "Request limits": a per-connection and a per-workspace limit, and other
// values may appear), or "" when the body has none. The value is cut to 64
// characters of letters, digits, '_', '-' and '.', since it becomes a
// metric label.
func RateLimitReason(body []byte) string {
	var e struct {
		AdditionalData struct {
			RateLimitReason any `json:"rate_limit_reason"`
		} `json:"additional_data"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	reason, _ := e.AdditionalData.RateLimitReason.(string)
	reason = strings.Map(func(r rune) rune {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.') {
			return r
		}
		return -1
	}, reason)
	if len(reason) > maxReasonLen {
		reason = reason[:maxReasonLen]
	}
	return reason
}

// NamesWorkspace reports whether a rate_limit_reason is the per-workspace
// limit, shared by every integration of a workspace: any reason that
// mentions "workspace", since Notion names its limits by scope.
func NamesWorkspace(reason string) bool {
	return strings.Contains(strings.ToLower(reason), "workspace")
}
