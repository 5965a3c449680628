package admin

import "github.com/notion-proxy/notion-proxy/rewrite"

// Error codes of the admin endpoints' answers (docs/design.md#errors).
// proxy_not_found and proxy_bad_request are the proxy's own codes too
// (rewrite.CodeNotFound, rewrite.CodeBadRequest): the same words for the
// same mistakes.
const (
	codeBadRequest        = rewrite.CodeBadRequest
	codeAdminForbidden    = "proxy_admin_forbidden"
	codeAdminUnauthorized = "proxy_admin_unauthorized"
	codeUnknownProfile    = "proxy_unknown_profile"
	codeReloadFailed      = "proxy_reload_failed"
	codeNotFound          = rewrite.CodeNotFound
	codePageForbidden     = "proxy_page_forbidden"
	codeTokenNotWritten   = "proxy_token_not_written"
)
