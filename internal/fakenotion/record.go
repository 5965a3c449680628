package fakenotion

import (
	"maps"
	"net/http"
	"time"
)

// Outcomes recorded in Request.Outcome: what the fake did with a request.
const (
	// OutcomeOK: the call was served (for a write: applied).
	OutcomeOK = "ok"
	// OutcomeMissingToken: no Bearer token; answered 401 unauthorized.
	OutcomeMissingToken = "missing_token"
	// OutcomeInvalidToken: a Bearer token that is not (or no longer) valid;
	// answered 401 unauthorized.
	OutcomeInvalidToken = "invalid_token"
	// OutcomeMissingVersion: no Notion-Version header; answered 400.
	OutcomeMissingVersion = "missing_version"
	// OutcomeInjected: answered by FailNext. (OutcomeRateLimited, for
	// calls over SetLimit's limit, is in limit.go.)
	OutcomeInjected = "injected"
	// OutcomeDropped: the connection was closed by DropNext, no answer.
	OutcomeDropped = "dropped"
	// OutcomeCDNError: answered by CDNErrorNext with an HTML page.
	OutcomeCDNError = "cdn_error"
	// OutcomeRedirected: answered by RedirectNext with a redirect.
	OutcomeRedirected = "redirected"
	// OutcomeCanceled: the caller went away (or the fake closed) while the
	// answer was held back by SetDelay; nothing was applied or answered.
	OutcomeCanceled = "canceled"
	// OutcomeInvalidRequestURL: unknown path, or a known path with the wrong
	// method; answered 400 invalid_request_url.
	OutcomeInvalidRequestURL = "invalid_request_url"
	// OutcomeInvalidJSON: a body that is not JSON; answered 400 invalid_json.
	OutcomeInvalidJSON = "invalid_json"
	// OutcomeValidationError: JSON of the wrong shape (e.g. no parent on a
	// page creation); answered 400 validation_error.
	OutcomeValidationError = "validation_error"
	// OutcomeBodyTooLarge: a body over the fake's 64 MiB cap; answered 413.
	OutcomeBodyTooLarge = "body_too_large"
	// OutcomeInvalidClient: an OAuth call with wrong (or no) Basic client
	// credentials, or with OAuth not enabled; answered 401 unauthorized.
	OutcomeInvalidClient = "invalid_client"
	// OutcomeInvalidGrant: an OAuth refresh with an unknown or rotated-away
	// refresh token; answered 400 invalid_grant.
	OutcomeInvalidGrant = "invalid_grant"
)

// Request is the fake's record of one request it received. Records are
// copies: changing one changes nothing in the fake. The JSON names are the
// ones ControlHandler's GET /requests uses.
type Request struct {
	Method   string `json:"method"`
	Path     string `json:"path"`
	RawQuery string `json:"raw_query"`
	// Token is the Bearer token presented ("" if none). The fake is a test
	// fixture and records tokens in the clear.
	Token string `json:"token"`
	// Authorization is the raw Authorization header.
	Authorization string `json:"authorization"`
	// NotionVersion is the Notion-Version header ("" if none).
	NotionVersion string `json:"notion_version"`
	// Header is a copy of all request headers.
	Header http.Header `json:"header"`
	// BodySHA256 is the hex SHA-256 of the request body as received.
	BodySHA256 string `json:"body_sha256"`
	// BodyLen is the body's length in bytes.
	BodyLen int `json:"body_len"`
	// Status is what the fake answered: 0 while the call is in flight, and
	// for dropped or canceled calls.
	Status int `json:"status"`
	// Outcome is one of the Outcome constants ("" while in flight).
	Outcome string `json:"outcome"`
	// Time is when the request arrived.
	Time time.Time `json:"time"`
}

// Requests returns every request received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Header = r.Header.Clone()
		out[i] = r
	}
	return out
}

// Applied returns, for every write that was applied (POST /v1/pages, PATCH
// /v1/pages/{id}, PATCH /v1/blocks/{id}, PATCH /v1/blocks/{id}/children,
// DELETE /v1/blocks/{id}, POST /v1/comments with a valid token, not failed,
// dropped or canceled), how many times it was applied. The key is the
// request's X-Test-Call-Id header if present, else
// "METHOD PATH <first 12 hex of the body's SHA-256>". A key with a count
// above 1 is a write that was applied twice.
func (s *Server) Applied() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.applied)
}

// Hits returns how many requests were received on path (the URL path
// without query), whatever their method or outcome.
func (s *Server) Hits(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// Refreshes returns how many OAuth refreshes succeeded.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// Reset clears the records (Requests, Applied, Hits, Refreshes) and every
// pending failure injection (FailNext, DropNext, CDNErrorNext,
// RedirectNext, AnswerNext) and sets the delay back to 0. Tokens, the
// OAuth set-up and stored content (pages, blocks, comments) are kept.
// Calls in flight during Reset are not recorded further.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
	s.generation++
	s.applied = map[string]int{}
	s.hits = map[string]int{}
	s.refreshes = 0
	s.failN, s.dropN, s.cdnN, s.redirN, s.scriptN = 0, 0, 0, 0, 0
	s.limited = 0
	s.delay = 0
}

// record appends a new in-flight record and returns its handle.
func (s *Server) record(r *http.Request, token, sum string, bodyLen int) recordRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{
		Method:        r.Method,
		Path:          r.URL.Path,
		RawQuery:      r.URL.RawQuery,
		Token:         token,
		Authorization: r.Header.Get("Authorization"),
		NotionVersion: r.Header.Get("Notion-Version"),
		Header:        r.Header.Clone(),
		BodySHA256:    sum,
		BodyLen:       bodyLen,
		Time:          time.Now(),
	})
	s.hits[r.URL.Path]++
	return recordRef{index: len(s.requests) - 1, generation: s.generation}
}

// recordRef points at one record; it goes stale when Reset clears them.
type recordRef struct {
	index      int
	generation int
}

// finishLocked fills in status and outcome of a record. s.mu must be held.
func (s *Server) finishLocked(ref recordRef, status int, outcome string) {
	if ref.generation != s.generation || ref.index >= len(s.requests) {
		return
	}
	s.requests[ref.index].Status = status
	s.requests[ref.index].Outcome = outcome
}

// finish is finishLocked taking the lock.
func (s *Server) finish(ref recordRef, status int, outcome string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finishLocked(ref, status, outcome)
}
