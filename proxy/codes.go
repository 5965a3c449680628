package proxy

import "github.com/notion-proxy/notion-proxy/rewrite"

// The proxy's own words, each written once: the error codes of the answers
// it makes itself (in Notion's error shape, docs/design.md#errors) and the
// outcomes its call log and metrics give a call that did not end with
// Notion's answer.

// Error codes of the proxy's own answers; the admin endpoints' are in
// proxy/admin/codes.go, and the codes both answer with are rewrite's.
const (
	codeBadRequest          = rewrite.CodeBadRequest
	codeBodyTooLarge        = "proxy_body_too_large"
	codeBodyTimeout         = "proxy_body_timeout"
	codeUpstreamUnreachable = "proxy_upstream_unreachable"
	codeLoop                = "proxy_loop"
	codeHostDenied          = "proxy_host_denied"
	codeAuthRequired        = "proxy_auth_required"
	codeHostNotAllowed      = "proxy_host_not_allowed"
	codeBrowserRefused      = "proxy_browser_refused"
	codeNotFound            = rewrite.CodeNotFound
)

// Outcomes of calls that did not end with Notion's answer (the "outcome"
// field of the call log). A call the gate stopped has its error's words
// (ErrPauseTimeout, ErrQueueFull, ...), and so does one stopped by the
// shutdown (gate.ErrClosed).
const (
	outcomeProgramGone         = "program went away"
	outcomeUpstreamUnreachable = "upstream unreachable"
	outcomeBodyCut             = "upstream body cut"
	outcomeBodyTooLarge        = "body too large"
	outcomeBodyStalled         = "body stalled"
	outcomeBodyUnreadable      = "body unreadable"
)
