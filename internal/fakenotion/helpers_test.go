package fakenotion_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// version is the Notion-Version the tests send.
const version = "2022-06-28"

// startFake starts a fake that Close stops at the end of the test.
func startFake(t *testing.T, tokens ...string) *fakenotion.Server {
	t.Helper()
	s, err := fakenotion.Start(tokens...)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// call is one request to the fake.
type call struct {
	method, path, token, version, body string
	header                             http.Header
}

// answer is what the fake answered.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the answer's body as a JSON object.
func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("answer body is not a JSON object: %v\n%s", err, a.body)
	}
	return v
}

// send makes the call through real TLS with client and returns the answer,
// or the transport error.
func send(ctx context.Context, client *http.Client, s *fakenotion.Server, c call) (answer, error) {
	var body io.Reader
	if c.body != "" {
		body = bytes.NewReader([]byte(c.body))
	}
	req, err := http.NewRequestWithContext(ctx, c.method, s.URL()+c.path, body)
	if err != nil {
		return answer{}, err
	}
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.version != "" {
		req.Header.Set("Notion-Version", c.version)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// mustSend is send that fails the test on a transport error.
func mustSend(t *testing.T, client *http.Client, s *fakenotion.Server, c call) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := send(ctx, client, s, c)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	return a
}

// wantStatus fails the test unless a has status.
func wantStatus(t *testing.T, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status = %d, want %d; body: %s", a.status, status, a.body)
	}
}

// wantNotionError checks a Notion error answer: status, code, the exact
// set of fields, request_id equal to the x-notion-request-id header, and
// the JSON content type.
func wantNotionError(t *testing.T, a answer, status int, code string) map[string]any {
	t.Helper()
	wantStatus(t, a, status)
	if ct := a.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q, want application/json; charset=utf-8", ct)
	}
	body := a.json(t)
	for _, key := range []string{"object", "status", "code", "message", "request_id"} {
		if _, ok := body[key]; !ok {
			t.Errorf("error body lacks %q: %s", key, a.body)
		}
	}
	if len(body) != 5 {
		t.Errorf("error body has %d fields, want exactly object, status, code, message, request_id: %s", len(body), a.body)
	}
	if body["object"] != "error" || body["status"] != float64(status) || body["code"] != code {
		t.Errorf("error body = %s, want object error, status %d, code %s", a.body, status, code)
	}
	if id := a.header.Get("X-Notion-Request-Id"); id == "" || id != body["request_id"] {
		t.Errorf("x-notion-request-id = %q, request_id = %v: want equal and non-empty", id, body["request_id"])
	}
	return body
}

// lastRequest is the fake's newest record.
func lastRequest(t *testing.T, s *fakenotion.Server) fakenotion.Request {
	t.Helper()
	reqs := s.Requests()
	if len(reqs) == 0 {
		t.Fatal("the fake recorded no request")
	}
	return reqs[len(reqs)-1]
}
