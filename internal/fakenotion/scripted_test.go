package fakenotion_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
)

func TestAnswerNextSendsTheScriptedAnswer(t *testing.T) {
	s := startFake(t, tok)
	client := s.Client()
	write := call{method: "POST", path: "/v1/comments", token: tok, version: version, body: `{"parent":{"page_id":"p"},"rich_text":[]}`}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("a whole answer arrives as scripted and nothing is applied", func(t *testing.T) {
		body := bytes.Repeat([]byte("x"), 2<<20)
		s.AnswerNext(1, fakenotion.Scripted{Status: 401, Header: http.Header{"Content-Type": {"application/json"}}, Body: body, RequestID: true})
		a := mustSend(t, client, s, write)
		wantStatus(t, a, 401)
		if !bytes.Equal(a.body, body) || a.header.Get("X-Notion-Request-Id") == "" {
			t.Errorf("got %d bytes, request id %q", len(a.body), a.header.Get("X-Notion-Request-Id"))
		}
		if r := lastRequest(t, s); r.Outcome != fakenotion.OutcomeScripted || r.Status != 401 {
			t.Errorf("record = %+v", r)
		}
		if len(s.Applied()) != 0 {
			t.Errorf("a scripted call was applied: %v", s.Applied())
		}
	})

	t.Run("a longer announced length cuts the answer mid-body", func(t *testing.T) {
		s.AnswerNext(1, fakenotion.Scripted{Status: 200, Body: []byte(`{"object":`), Length: 1000})
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL()+"/v1/users/me", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !errors.Is(err, io.ErrUnexpectedEOF) || string(data) != `{"object":` {
			t.Errorf("got %d %q %v, want 200, the 10 bytes, then unexpected EOF", resp.StatusCode, data, err)
		}
	})

	wantStatus(t, mustSend(t, client, s, write), http.StatusOK)
}
