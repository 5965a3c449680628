package fakenotion_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

const tok = "ntn_valid_token"

func TestValidTokenGetsNotionShapes(t *testing.T) {
	s := startFake(t, tok)
	client := s.Client()

	t.Run("users/me is the bot user", func(t *testing.T) {
		a := mustSend(t, client, s, call{method: "GET", path: "/v1/users/me", token: tok, version: version})
		wantStatus(t, a, http.StatusOK)
		if ct := a.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type = %q", ct)
		}
		if a.header.Get("X-Notion-Request-Id") == "" {
			t.Error("no x-notion-request-id on a success")
		}
		user := a.json(t)
		if user["object"] != "user" || user["type"] != "bot" || user["id"] != fakenotion.BotUserID {
			t.Errorf("users/me = %s", a.body)
		}
		if _, ok := user["bot"].(map[string]any)["owner"]; !ok {
			t.Errorf("bot user has no bot.owner: %s", a.body)
		}
	})

	t.Run("users is a list with cursor fields", func(t *testing.T) {
		a := mustSend(t, client, s, call{method: "GET", path: "/v1/users?page_size=1", token: tok, version: version})
		wantStatus(t, a, http.StatusOK)
		l := a.json(t)
		if l["object"] != "list" || l["type"] != "user" || l["has_more"] != true {
			t.Errorf("users list = %s", a.body)
		}
		if n := len(l["results"].([]any)); n != 1 {
			t.Errorf("page_size=1 gave %d results", n)
		}
		next, _ := l["next_cursor"].(string)
		a = mustSend(t, client, s, call{method: "GET", path: "/v1/users?start_cursor=" + next, token: tok, version: version})
		if l := a.json(t); l["has_more"] != false || l["next_cursor"] != nil {
			t.Errorf("last page = %s", a.body)
		}
	})

	var pageID string
	t.Run("a created page echoes its properties and can be read back", func(t *testing.T) {
		body := `{"parent":{"page_id":"6c3e0f43-2b1b-4c1f-9a6e-0d6b7a1f3e21"},"properties":{"title":{"title":[{"text":{"content":"Hello"}}]}}}`
		a := mustSend(t, client, s, call{method: "POST", path: "/v1/pages", token: tok, version: version, body: body})
		wantStatus(t, a, http.StatusOK)
		page := a.json(t)
		pageID, _ = page["id"].(string)
		if page["object"] != "page" || len(pageID) != 36 {
			t.Fatalf("created page = %s", a.body)
		}
		if !strings.Contains(string(a.body), `"plain_text":"Hello"`) {
			t.Errorf("title not echoed: %s", a.body)
		}
		if parent := page["parent"].(map[string]any); parent["type"] != "page_id" {
			t.Errorf("parent = %v", parent)
		}
		got := mustSend(t, client, s, call{method: "GET", path: "/v1/pages/" + pageID, token: tok, version: version})
		if got.json(t)["id"] != pageID || !strings.Contains(string(got.body), "Hello") {
			t.Errorf("read back = %s", got.body)
		}
	})

	t.Run("appended children are listed with pagination", func(t *testing.T) {
		body := `{"children":[{"paragraph":{"rich_text":[{"text":{"content":"one"}}]}},{"paragraph":{"rich_text":[{"text":{"content":"two"}}]}}]}`
		a := mustSend(t, client, s, call{method: "PATCH", path: "/v1/blocks/" + pageID + "/children", token: tok, version: version, body: body})
		wantStatus(t, a, http.StatusOK)
		if l := a.json(t); l["object"] != "list" || l["type"] != "block" || len(l["results"].([]any)) != 2 {
			t.Errorf("append answer = %s", a.body)
		}
		a = mustSend(t, client, s, call{method: "GET", path: "/v1/blocks/" + pageID + "/children?page_size=1", token: tok, version: version})
		l := a.json(t)
		if l["has_more"] != true || !strings.Contains(string(a.body), `"plain_text":"one"`) {
			t.Errorf("first page of children = %s", a.body)
		}
	})

	t.Run("search finds the page, typed by version", func(t *testing.T) {
		a := mustSend(t, client, s, call{method: "POST", path: "/v1/search", token: tok, version: "2025-09-03", body: `{"query":"hell"}`})
		l := a.json(t)
		if l["type"] != "page_or_data_source" || len(l["results"].([]any)) != 1 {
			t.Errorf("search = %s", a.body)
		}
	})

	t.Run("comments round-trip", func(t *testing.T) {
		body := fmt.Sprintf(`{"parent":{"page_id":%q},"rich_text":[{"text":{"content":"hi"}}]}`, pageID)
		a := mustSend(t, client, s, call{method: "POST", path: "/v1/comments", token: tok, version: version, body: body})
		if a.json(t)["object"] != "comment" {
			t.Fatalf("comment = %s", a.body)
		}
		a = mustSend(t, client, s, call{method: "GET", path: "/v1/comments?block_id=" + pageID, token: tok, version: version})
		if l := a.json(t); l["type"] != "comment" || len(l["results"].([]any)) != 1 {
			t.Errorf("comments = %s", a.body)
		}
	})

	t.Run("the other reads answer their objects", func(t *testing.T) {
		for path, object := range map[string]string{
			"/v1/blocks/" + pageID:                                  "block",
			"/v1/databases/0d1c5b7e-9f8a-4b3c-8d2e-1f0a9b8c7d6e":    "database",
			"/v1/data_sources/0d1c5b7e-9f8a-4b3c-8d2e-1f0a9b8c7d6e": "data_source",
			"/v1/users/" + fakenotion.PersonUserID:                  "user",
		} {
			a := mustSend(t, client, s, call{method: "GET", path: path, token: tok, version: version})
			if got := a.json(t)["object"]; got != object {
				t.Errorf("GET %s: object = %v, want %s", path, got, object)
			}
		}
		for _, path := range []string{"/v1/databases/x/query", "/v1/data_sources/x/query"} {
			a := mustSend(t, client, s, call{method: "POST", path: path, token: tok, version: version})
			if l := a.json(t); l["object"] != "list" {
				t.Errorf("POST %s = %s", path, a.body)
			}
		}
	})
}

func TestInvalidTokenGetsNotions401(t *testing.T) {
	s := startFake(t, tok)
	const revoked = "ntn_revoked_token"
	s.AddToken(revoked)
	s.Revoke(revoked)
	client := s.Client()

	for _, tc := range []struct {
		name, token, outcome string
	}{
		{"a missing token", "", fakenotion.OutcomeMissingToken},
		{"an unknown token", "ntn_unknown", fakenotion.OutcomeInvalidToken},
		{"a revoked token", revoked, fakenotion.OutcomeInvalidToken},
	} {
		t.Run(tc.name+" is rejected before the write is applied", func(t *testing.T) {
			a := mustSend(t, client, s, call{method: "POST", path: "/v1/pages", token: tc.token, version: version, body: `{"parent":{"workspace":true}}`})
			body := wantNotionError(t, a, http.StatusUnauthorized, "unauthorized")
			if body["message"] != "API token is invalid." {
				t.Errorf("message = %v", body["message"])
			}
			if r := lastRequest(t, s); r.Outcome != tc.outcome || r.Token != tc.token || r.Status != 401 {
				t.Errorf("record = %+v", r)
			}
			if n := len(s.Applied()); n != 0 {
				t.Errorf("Applied = %v, want nothing", s.Applied())
			}
		})
	}
}

func TestMissingVersionGets400(t *testing.T) {
	s := startFake(t, tok)
	a := mustSend(t, s.Client(), s, call{method: "GET", path: "/v1/users/me", token: tok})
	body := wantNotionError(t, a, http.StatusBadRequest, "missing_version")
	want := "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`."
	if body["message"] != want {
		t.Errorf("message = %v, want %s", body["message"], want)
	}
}

func TestFailNextAnswersInNotionsShapeAndAppliesNothing(t *testing.T) {
	for _, tc := range []struct {
		status     int
		code       string
		retryAfter string
	}{
		{429, "rate_limited", "2"},
		{429, "rate_limited", ""},
		{500, "internal_server_error", ""},
		{502, "bad_gateway", ""},
		{503, "service_unavailable", ""},
		{504, "gateway_timeout", ""},
		{529, "service_overload", "1"},
	} {
		t.Run(fmt.Sprintf("%d %s retry-after %q", tc.status, tc.code, tc.retryAfter), func(t *testing.T) {
			s := startFake(t, tok)
			client := s.Client()
			s.FailNext(1, tc.status, tc.retryAfter)
			write := call{method: "POST", path: "/v1/pages", token: tok, version: version, body: `{"parent":{"workspace":true}}`}
			a := mustSend(t, client, s, write)
			wantNotionError(t, a, tc.status, tc.code)
			if got := a.header.Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tc.retryAfter)
			}
			if r := lastRequest(t, s); r.Outcome != fakenotion.OutcomeInjected {
				t.Errorf("outcome = %q", r.Outcome)
			}
			if len(s.Applied()) != 0 {
				t.Errorf("a failed write was applied: %v", s.Applied())
			}
			wantStatus(t, mustSend(t, client, s, write), http.StatusOK)
			if len(s.Applied()) != 1 {
				t.Errorf("the next write was not applied: %v", s.Applied())
			}
		})
	}
}

func TestFailNextSparesOAuth(t *testing.T) {
	s := startFake(t)
	s.EnableOAuth("cid", "csecret", "rt0")
	s.FailNext(1, 429, "1")
	a := refresh(t, s, "cid", "csecret", "rt0")
	wantStatus(t, a, http.StatusOK)
	a = mustSend(t, s.Client(), s, call{method: "GET", path: "/v1/users/me", token: a.json(t)["access_token"].(string), version: version})
	wantStatus(t, a, http.StatusTooManyRequests)
}

func TestDropNextClosesTheConnection(t *testing.T) {
	s := startFake(t, tok)
	client := s.Client()
	s.DropNext(1)
	write := call{method: "POST", path: "/v1/comments", token: tok, version: version, body: `{"parent":{"page_id":"p"},"rich_text":[]}`}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if a, err := send(ctx, client, s, write); err == nil {
		t.Fatalf("a dropped call got an answer: %d %s", a.status, a.body)
	}
	if r := lastRequest(t, s); r.Outcome != fakenotion.OutcomeDropped || r.Status != 0 {
		t.Errorf("record = %+v", r)
	}
	if len(s.Applied()) != 0 {
		t.Errorf("a dropped write was applied: %v", s.Applied())
	}
	wantStatus(t, mustSend(t, client, s, write), http.StatusOK)
}

func TestCDNErrorNextLooksLikeCloudflare(t *testing.T) {
	s := startFake(t, tok)
	s.CDNErrorNext(1, http.StatusBadGateway)
	a := mustSend(t, s.Client(), s, call{method: "GET", path: "/v1/users/me", token: tok, version: version})
	wantStatus(t, a, http.StatusBadGateway)
	if a.header.Get("Cf-Ray") == "" || a.header.Get("X-Notion-Request-Id") != "" {
		t.Errorf("headers = %v: want cf-ray and no x-notion-request-id", a.header)
	}
	if !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") || !strings.Contains(string(a.body), "cloudflare") {
		t.Errorf("answer = %v %s", a.header, a.body)
	}
}

func TestAppliedCountsEachAppliedWrite(t *testing.T) {
	s := startFake(t, tok)
	client := s.Client()
	body := `{"parent":{"workspace":true}}`
	withID := call{method: "POST", path: "/v1/pages", token: tok, version: version, body: body,
		header: http.Header{"X-Test-Call-Id": {"create-1"}}}
	mustSend(t, client, s, withID)
	mustSend(t, client, s, withID)
	mustSend(t, client, s, call{method: "POST", path: "/v1/pages", token: tok, version: version, body: body})
	mustSend(t, client, s, call{method: "DELETE", path: "/v1/blocks/b1", token: tok, version: version})
	mustSend(t, client, s, call{method: "GET", path: "/v1/pages/p1", token: tok, version: version})
	mustSend(t, client, s, call{method: "POST", path: "/v1/pages", token: tok, version: version, body: `{}`}) // no parent: rejected

	sum := sha256.Sum256([]byte(body))
	empty := sha256.Sum256(nil)
	want := map[string]int{
		"create-1": 2,
		"POST /v1/pages " + hex.EncodeToString(sum[:])[:12]:         1,
		"DELETE /v1/blocks/b1 " + hex.EncodeToString(empty[:])[:12]: 1,
	}
	got := s.Applied()
	if len(got) != len(want) {
		t.Errorf("Applied = %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("Applied[%q] = %d, want %d (all: %v)", k, got[k], n, got)
		}
	}
	if n := s.Hits("/v1/pages"); n != 4 {
		t.Errorf("Hits(/v1/pages) = %d, want 4", n)
	}
	s.Reset()
	if len(s.Requests()) != 0 || len(s.Applied()) != 0 || s.Hits("/v1/pages") != 0 {
		t.Error("Reset left records")
	}
}

func TestBadRequestsGetNotionsErrors(t *testing.T) {
	s := startFake(t, tok)
	client := s.Client()
	for _, tc := range []struct {
		name string
		c    call
		code string
	}{
		{"an unknown path", call{method: "GET", path: "/v1/nope"}, "invalid_request_url"},
		{"a path outside /v1", call{method: "GET", path: "/users/me"}, "invalid_request_url"},
		{"a known path with the wrong method", call{method: "GET", path: "/v1/search"}, "invalid_request_url"},
		{"a body that is not JSON", call{method: "POST", path: "/v1/search", body: "{nope"}, "invalid_json"},
		{"a page without parent", call{method: "POST", path: "/v1/pages", body: "{}"}, "validation_error"},
	} {
		t.Run(tc.name+" gets "+tc.code, func(t *testing.T) {
			tc.c.token, tc.c.version = tok, version
			wantNotionError(t, mustSend(t, client, s, tc.c), http.StatusBadRequest, tc.code)
		})
	}
}

func TestLargeBodiesAreAccepted(t *testing.T) {
	s := startFake(t, tok)
	text := strings.Repeat("x", 6<<20)
	body := `{"parent":{"workspace":true},"properties":{"title":{"title":[{"text":{"content":"` + text + `"}}]}}}`
	a := mustSend(t, s.Client(), s, call{method: "POST", path: "/v1/pages", token: tok, version: version, body: body})
	wantStatus(t, a, http.StatusOK)
	if r := lastRequest(t, s); r.BodyLen != len(body) {
		t.Errorf("BodyLen = %d, want %d", r.BodyLen, len(body))
	}
}

func TestDelayRespectsCallerCancellation(t *testing.T) {
	s := startFake(t, tok)
	client := s.Client()
	s.SetDelay(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := send(ctx, client, s, call{method: "POST", path: "/v1/pages", token: tok, version: version, body: `{"parent":{"workspace":true}}`})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	testwait.Until(t, 5*time.Second, "the delayed call to be recorded as canceled", func() bool {
		return lastRequest(t, s).Outcome == fakenotion.OutcomeCanceled
	})
	if len(s.Applied()) != 0 {
		t.Errorf("a canceled write was applied: %v", s.Applied())
	}

	s.SetDelay(50 * time.Millisecond)
	start := time.Now()
	wantStatus(t, mustSend(t, client, s, call{method: "GET", path: "/v1/users/me", token: tok, version: version}), http.StatusOK)
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Errorf("answer took %v, want at least the 50ms delay", took)
	}
}

func TestConcurrentWritesAreEachAppliedOnce(t *testing.T) {
	s := startFake(t, tok)
	client := s.Client()
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			c := call{method: "PATCH", path: "/v1/blocks/b/children", token: tok, version: version,
				body: `{"children":[{"paragraph":{"rich_text":[]}}]}`, header: http.Header{"X-Test-Call-Id": {fmt.Sprint("c", i)}}}
			a, err := send(context.Background(), client, s, c)
			if err == nil && a.status != http.StatusOK {
				err = fmt.Errorf("status %d: %s", a.status, a.body)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	applied := s.Applied()
	if len(applied) != n {
		t.Errorf("%d distinct writes applied, want %d", len(applied), n)
	}
	for k, count := range applied {
		if count != 1 {
			t.Errorf("%s applied %d times", k, count)
		}
	}
}
