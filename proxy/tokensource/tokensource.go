// Package tokensource gets a profile's token from where its config says
// it is (docs/design.md#tokens): read at once (inline, token_env,
// token_file, a kept OAuth access token) by Resolve, or got by running
// something: a token_command (RunCommand) or Notion's OAuth token endpoint
// (RefreshOAuth). It holds no state: when to refresh, retries and what a
// person is told are the proxy's.
package tokensource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/capped"
	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

const (
	commandTimeout = 30 * time.Second
	oauthTimeout   = 30 * time.Second
	// maxOAuthAnswer bounds what is read of the token endpoint's answer.
	maxOAuthAnswer = 1 << 20
)

// ErrInvalidGrant: Notion refused the refresh token; only re-authorising
// the integration helps.
var ErrInvalidGrant = errors.New("refresh token refused (invalid_grant)")

// Resolve reads the current token of a profile from a source that can
// be read at once: inline, token_env, token_file, or an OAuth access token
// kept in the config. ok is false for sources that must be run (a
// token_command, an OAuth profile with no access token yet): the refresher
// provides those. A profile with no token source gives "" (the starter
// config: calls wait until a token is written). A token from the
// environment or a file passes the same check as an inline one
// (config.SecretProblem), so a value that cannot go in a header is refused
// here, naming its source, instead of failing every call.
func Resolve(p config.Profile, getenv func(string) string) (tok string, ok bool, err error) {
	var source string
	switch {
	case p.Token != "":
		tok, source = p.Token, "token of profile "+p.Name
	case p.TokenEnv != "":
		tok, source = strings.TrimSpace(getenv(p.TokenEnv)), "token_env "+p.TokenEnv
		if tok == "" {
			return "", false, fmt.Errorf("token_env %s is not set", p.TokenEnv)
		}
	case p.TokenFile != "":
		data, err := os.ReadFile(p.TokenFile)
		if errors.Is(err, fs.ErrNotExist) {
			return "", false, fmt.Errorf("token_file %s does not exist", p.TokenFile)
		}
		if err != nil {
			return "", false, fmt.Errorf("read token_file: %w", err)
		}
		tok, source = strings.TrimSpace(string(data)), "token_file "+p.TokenFile
		if tok == "" {
			return "", false, fmt.Errorf("token_file %s is empty", p.TokenFile)
		}
	case p.OAuth != nil:
		if p.OAuth.AccessToken == "" {
			return "", false, nil
		}
		tok, source = p.OAuth.AccessToken, "oauth access_token of profile "+p.Name
	case len(p.TokenCommand) > 0:
		return "", false, nil
	default:
		return "", true, nil
	}
	if problem := config.SecretProblem(tok); problem != "" {
		return "", false, fmt.Errorf("%s %s", source, problem)
	}
	return tok, true, nil
}

// RunCommand runs argv (no shell) with a time limit. Its trimmed stdout is
// the token; stderr (its first 8 KiB, trimmed) is returned for the caller
// to log, stdout never is.
func RunCommand(ctx context.Context, argv []string) (tok, stderr string, err error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	out, errOut := capped.New(64<<10), capped.New(8<<10)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = out, errOut
	err = cmd.Run()
	stderr = strings.TrimSpace(errOut.String())
	if err != nil {
		return "", stderr, fmt.Errorf("run token_command %s: %w", argv[0], err)
	}
	tok = strings.TrimSpace(out.String())
	if problem := config.SecretProblem(tok); problem != "" {
		return "", stderr, fmt.Errorf("token_command %s printed no single token: its output %s", argv[0], problem)
	}
	return tok, stderr, nil
}

// OAuthTokens is the part of Notion's POST /v1/oauth/token answer the
// proxy needs.
type OAuthTokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// RefreshOAuth trades o's refresh token for a new access token at the
// token endpoint of upstream, sent through transport with notionVersion.
// A refresh token that was not rotated is returned as it was. Notion's
// invalid_grant is ErrInvalidGrant. Writing the tokens anywhere is the
// caller's.
func RefreshOAuth(ctx context.Context, transport http.RoundTripper, upstream, notionVersion string, o config.OAuth) (OAuthTokens, error) {
	ctx, cancel := context.WithTimeout(ctx, oauthTimeout)
	defer cancel()
	reqBody, _ := json.Marshal(map[string]string{"grant_type": "refresh_token", "refresh_token": o.RefreshToken})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, upstream+"/v1/oauth/token", bytes.NewReader(reqBody))
	if err != nil {
		return OAuthTokens{}, fmt.Errorf("oauth refresh: %w", err)
	}
	req.SetBasicAuth(o.ClientID, o.ClientSecret)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Notion-Version", notionVersion)
	resp, err := transport.RoundTrip(req)
	if err != nil {
		return OAuthTokens{}, fmt.Errorf("oauth refresh: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxOAuthAnswer))
	if err != nil {
		return OAuthTokens{}, fmt.Errorf("oauth refresh: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		code := rewrite.ErrorCode(resp.Header, data)
		if code == "invalid_grant" {
			return OAuthTokens{}, ErrInvalidGrant
		}
		return OAuthTokens{}, fmt.Errorf("oauth refresh: Notion answered %d %s", resp.StatusCode, code)
	}
	var tr OAuthTokens
	if err := json.Unmarshal(data, &tr); err != nil || tr.AccessToken == "" {
		return OAuthTokens{}, errors.New("oauth refresh: answer holds no access_token")
	}
	if tr.RefreshToken == "" {
		tr.RefreshToken = o.RefreshToken // not rotated
	}
	return tr, nil
}
