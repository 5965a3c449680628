package fakenotion_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
)

// oauthCall posts body to an OAuth endpoint with Basic id:secret.
func oauthCall(t *testing.T, s *fakenotion.Server, path, id, secret string, body any) answer {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", s.URL()+path, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+secret)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Notion-Version", version)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: got}
}

// refresh asks for a new access token with a refresh token.
func refresh(t *testing.T, s *fakenotion.Server, id, secret, refreshToken string) answer {
	t.Helper()
	return oauthCall(t, s, "/v1/oauth/token", id, secret, map[string]string{"grant_type": "refresh_token", "refresh_token": refreshToken})
}

func TestOAuthRefreshRotatesTheRefreshToken(t *testing.T) {
	s := startFake(t)
	s.EnableOAuth("cid", "csecret", "rt0")

	a := refresh(t, s, "cid", "csecret", "rt0")
	wantStatus(t, a, http.StatusOK)
	grant := a.json(t)
	access, _ := grant["access_token"].(string)
	rotated, _ := grant["refresh_token"].(string)
	if access == "" || rotated == "" || rotated == "rt0" || grant["token_type"] != "bearer" {
		t.Fatalf("token answer = %s", a.body)
	}
	for _, key := range []string{"bot_id", "workspace_id", "workspace_name", "workspace_icon", "owner", "duplicated_template_id", "request_id"} {
		if _, ok := grant[key]; !ok {
			t.Errorf("token answer lacks %q: %s", key, a.body)
		}
	}
	if s.Refreshes() != 1 {
		t.Errorf("Refreshes = %d, want 1", s.Refreshes())
	}

	t.Run("the new access token is valid", func(t *testing.T) {
		a := mustSend(t, s.Client(), s, call{method: "GET", path: "/v1/users/me", token: access, version: version})
		wantStatus(t, a, http.StatusOK)
	})

	t.Run("the old refresh token is rejected with invalid_grant", func(t *testing.T) {
		a := refresh(t, s, "cid", "csecret", "rt0")
		wantNotionError(t, a, http.StatusBadRequest, "invalid_grant")
		if lastRequest(t, s).Outcome != fakenotion.OutcomeInvalidGrant {
			t.Errorf("outcome = %q", lastRequest(t, s).Outcome)
		}
	})

	t.Run("the rotated refresh token works once", func(t *testing.T) {
		wantStatus(t, refresh(t, s, "cid", "csecret", rotated), http.StatusOK)
		wantNotionError(t, refresh(t, s, "cid", "csecret", rotated), http.StatusBadRequest, "invalid_grant")
		if s.Refreshes() != 2 {
			t.Errorf("Refreshes = %d, want 2", s.Refreshes())
		}
	})

	t.Run("introspect and revoke see the access token", func(t *testing.T) {
		a := oauthCall(t, s, "/v1/oauth/introspect", "cid", "csecret", map[string]string{"token": access})
		if a.json(t)["active"] != true {
			t.Fatalf("introspect = %s", a.body)
		}
		wantStatus(t, oauthCall(t, s, "/v1/oauth/revoke", "cid", "csecret", map[string]string{"token": access}), http.StatusOK)
		a = mustSend(t, s.Client(), s, call{method: "GET", path: "/v1/users/me", token: access, version: version})
		wantNotionError(t, a, http.StatusUnauthorized, "unauthorized")
	})
}

func TestOAuthRejectsBadClientCredentials(t *testing.T) {
	s := startFake(t)
	s.EnableOAuth("cid", "csecret", "rt0")
	for _, path := range []string{"/v1/oauth/token", "/v1/oauth/introspect", "/v1/oauth/revoke"} {
		a := oauthCall(t, s, path, "cid", "wrong", map[string]string{"grant_type": "refresh_token", "refresh_token": "rt0", "token": "x"})
		wantNotionError(t, a, http.StatusUnauthorized, "unauthorized")
	}
	if s.Refreshes() != 0 {
		t.Error("a refresh with bad credentials counted")
	}
	// The refresh token is still good: bad client calls do not burn it.
	wantStatus(t, refresh(t, s, "cid", "csecret", "rt0"), http.StatusOK)
}
