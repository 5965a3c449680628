package fakenotion

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"
)

// msgInvalidClient answers OAuth calls whose Basic client credentials are
// wrong or missing. Notion documents no wording for it; the code is the
// generic "unauthorized".
const msgInvalidClient = "Invalid client: client_id or client_secret is invalid."

// msgInvalidRefresh answers a refresh with an unknown or rotated-away
// refresh token (code invalid_grant, as in Notion's status-code table).
const msgInvalidRefresh = "Invalid refresh token: this refresh token has been revoked."

// oauthConfig is a public integration's OAuth state. Guarded by Server.mu.
type oauthConfig struct {
	clientID, clientSecret string
	refreshToken           string // the one refresh token that is valid now ("" after revoke)
	issued                 int
}

// EnableOAuth turns on /v1/oauth/token, /v1/oauth/introspect and
// /v1/oauth/revoke for one public integration: calls must authenticate with
// HTTP Basic clientID:clientSecret, and refreshToken is the refresh token
// that is valid now. Each successful refresh makes a new access token valid
// (earlier access tokens stay valid until revoked) and rotates the refresh
// token: the one just used is rejected from then on with 400 invalid_grant.
// Calling EnableOAuth again replaces the set-up.
func (s *Server) EnableOAuth(clientID, clientSecret, refreshToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth = &oauthConfig{clientID: clientID, clientSecret: clientSecret, refreshToken: refreshToken}
	s.secrets[refreshToken], s.secrets[clientSecret] = true, true
}

// serveOAuth answers /v1/oauth/*: client credentials first, then the body.
// OAuth calls need no Notion-Version and no Bearer token.
func (s *Server) serveOAuth(c *call) {
	var handler func(c *call, body map[string]any)
	switch c.r.URL.Path {
	case "/v1/oauth/token":
		handler = s.oauthToken
	case "/v1/oauth/introspect":
		handler = s.oauthIntrospect
	case "/v1/oauth/revoke":
		handler = s.oauthRevoke
	}
	if handler == nil || c.r.Method != http.MethodPost {
		c.fail(http.StatusBadRequest, "invalid_request_url", msgInvalidURL, OutcomeInvalidRequestURL)
		return
	}
	id, secret, hasBasic := c.r.BasicAuth()
	s.mu.Lock()
	cfg := s.oauth
	clientOK := cfg != nil && hasBasic && id == cfg.clientID && secret == cfg.clientSecret
	s.mu.Unlock()
	if !clientOK {
		c.fail(http.StatusUnauthorized, "unauthorized", msgInvalidClient, OutcomeInvalidClient)
		return
	}
	body, ok := c.parseBody()
	if !ok {
		return
	}
	handler(c, body)
}

// oauthToken answers a token request. Only grant_type refresh_token is
// supported; the fake issues no authorization codes, so every code is
// answered as Notion answers a used one.
func (s *Server) oauthToken(c *call, body map[string]any) {
	switch grant, _ := body["grant_type"].(string); grant {
	case "refresh_token":
	case "authorization_code":
		c.fail(http.StatusBadRequest, "invalid_grant", "Invalid code: this code has been revoked.", OutcomeInvalidGrant)
		return
	default:
		c.invalid("body.grant_type should be `authorization_code` or `refresh_token`, instead was `" + grant + "`")
		return
	}
	presented, _ := body["refresh_token"].(string)
	if presented == "" {
		c.invalid("body.refresh_token should be defined, instead was `undefined`")
		return
	}
	s.mu.Lock()
	cfg := s.oauth
	if cfg == nil || cfg.refreshToken == "" || presented != cfg.refreshToken {
		s.mu.Unlock()
		c.fail(http.StatusBadRequest, "invalid_grant", msgInvalidRefresh, OutcomeInvalidGrant)
		return
	}
	cfg.issued++
	access := fmt.Sprintf("ntn_fakeoauth%d_%s", cfg.issued, randomHex(12))
	cfg.refreshToken = fmt.Sprintf("nrt_fakeoauth%d_%s", cfg.issued, randomHex(12))
	refresh := cfg.refreshToken
	s.tokens[access] = true
	s.secrets[access], s.secrets[refresh] = true, true
	s.refreshes++
	s.mu.Unlock()

	c.ok(map[string]any{
		"access_token":           access,
		"token_type":             "bearer",
		"refresh_token":          refresh,
		"bot_id":                 BotUserID,
		"workspace_icon":         nil,
		"workspace_name":         WorkspaceName,
		"workspace_id":           WorkspaceID,
		"owner":                  map[string]any{"type": "workspace", "workspace": true},
		"duplicated_template_id": nil,
		"request_id":             c.requestID,
	})
}

// oauthIntrospect reports whether a token (access or refresh) is valid now.
func (s *Server) oauthIntrospect(c *call, body map[string]any) {
	tok, _ := body["token"].(string)
	if tok == "" {
		c.invalid("body.token should be defined, instead was `undefined`")
		return
	}
	s.mu.Lock()
	active := s.tokens[tok] || (s.oauth != nil && s.oauth.refreshToken != "" && tok == s.oauth.refreshToken)
	s.mu.Unlock()
	answer := map[string]any{"active": active, "request_id": c.requestID}
	if active {
		answer["scope"] = "read_content update_content insert_content read_comments insert_comments"
		answer["iat"] = time.Now().Unix()
	}
	c.ok(answer)
}

// oauthRevoke makes a token (access or refresh) invalid.
func (s *Server) oauthRevoke(c *call, body map[string]any) {
	tok, _ := body["token"].(string)
	if tok == "" {
		c.invalid("body.token should be defined, instead was `undefined`")
		return
	}
	s.mu.Lock()
	delete(s.tokens, tok)
	if s.oauth != nil && tok == s.oauth.refreshToken {
		s.oauth.refreshToken = ""
	}
	s.mu.Unlock()
	c.ok(map[string]any{"request_id": c.requestID})
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
