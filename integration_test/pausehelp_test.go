package integration_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// Helpers of the pause and replay tests (docs/design.md#the-gate-pause-and-replay, docs/design.md#admin-endpoints): calls made from any
// goroutine, the fake's record of them, /-/status and the pause log lines.
const (
	tokD = "ntn_integration_token_DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD5e4f"
	tokE = "secret_integration_token_EEEEEEEEEEEEEEEEEEEEEEEEEEEEE3g2h"

	// pageID is any page: every id exists in the fake.
	pageID = "59833787-2cf9-4fdf-8782-e53db20768a5"

	// pauseLine and resumeLine are in the log messages of a pause and a
	// resume.
	pauseLine  = "calls of this profile are paused"
	againLine  = "rejected the new token too"
	resumeLine = "calls resumed"
)

// reply is what one program call got back.
type reply struct {
	code   int
	body   []byte
	header http.Header
	err    error
	took   time.Duration
}

func (r reply) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return fmt.Sprintf("%d %s", r.code, bytes.TrimSpace(r.body))
}

// send makes one call. Unlike do it never touches t, so any goroutine may
// use it; ctx ends it early (the program gives up).
func send(ctx context.Context, c *http.Client, method, u string, body []byte, hdr map[string]string) reply {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return reply{err: err}
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return reply{code: resp.StatusCode, body: data, header: resp.Header, err: err, took: time.Since(start)}
}

// sendAsync starts send in a goroutine; the channel gets its reply.
func sendAsync(ctx context.Context, c *http.Client, method, u string, body []byte, hdr map[string]string) <-chan reply {
	ch := make(chan reply, 1)
	go func() { ch <- send(ctx, c, method, u, body, hdr) }()
	return ch
}

// await waits for a value on ch (a reply, a raw answer), failing the test
// after timeout.
func await[T any](t *testing.T, what string, ch <-chan T, timeout time.Duration) T {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(timeout):
		t.Fatalf("%s: no answer within %v", what, timeout)
		var zero T
		return zero
	}
}

// stillWaiting fails the test if one of chs already has an answer.
func stillWaiting(t *testing.T, what string, chs ...<-chan reply) {
	t.Helper()
	for i, ch := range chs {
		select {
		case r := <-ch:
			t.Fatalf("%s: call %d answered while its profile is paused: %v", what, i, r)
		default:
		}
	}
}

// callHeader is the header of a call the fake counts by id.
func callHeader(id string) map[string]string {
	return map[string]string{"X-Test-Call-Id": id, "Content-Type": "application/json"}
}

// pageBody is a valid POST /v1/pages body.
func pageBody(title string) []byte {
	return fmt.Appendf(nil, `{"parent":{"page_id":%q},"properties":{"title":{"title":[{"text":{"content":%q}}]}}}`, pageID, title)
}

// tokenConfig is a whole config file: the fake as upstream, extra (YAML
// lines, may be ""), and tok as the shorthand default profile's token.
func tokenConfig(fake *fakenotion.Server, fakeCA, extra, tok string) string {
	return "listen: 127.0.0.1:0\n" + upstreamConfig(fake, fakeCA) + extra + "token: " + tok + "\n"
}

// withID returns the fake's records of the call with X-Test-Call-Id id.
func withID(fake *fakenotion.Server, id string) []fakenotion.Request {
	var out []fakenotion.Request
	for _, r := range fake.Requests() {
		if r.Header.Get("X-Test-Call-Id") == id {
			out = append(out, r)
		}
	}
	return out
}

// withToken returns the fake's records of calls that presented tok.
func withToken(fake *fakenotion.Server, tok string) []fakenotion.Request {
	var out []fakenotion.Request
	for _, r := range fake.Requests() {
		if r.Token == tok {
			out = append(out, r)
		}
	}
	return out
}

// checkSameCall checks that a replay is the first send again: same method,
// path, query, headers (but the token) and body bytes.
func checkSameCall(t *testing.T, first, replay fakenotion.Request) {
	t.Helper()
	if first.Method != replay.Method || first.Path != replay.Path || first.RawQuery != replay.RawQuery {
		t.Errorf("replayed as %s %s?%s, first sent as %s %s?%s", replay.Method, replay.Path, replay.RawQuery, first.Method, first.Path, first.RawQuery)
	}
	if first.BodySHA256 != replay.BodySHA256 || first.BodyLen != replay.BodyLen {
		t.Errorf("replayed with a %d-byte body, first sent with %d bytes, or other bytes", replay.BodyLen, first.BodyLen)
	}
	a, b := first.Header.Clone(), replay.Header.Clone()
	a.Del("Authorization")
	b.Del("Authorization")
	for k := range a {
		if strings.Join(a.Values(k), ",") != strings.Join(b.Values(k), ",") {
			t.Errorf("header %s: first %q, replay %q", k, a.Values(k), b.Values(k))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			t.Errorf("the replay added header %s: %q", k, b.Values(k))
		}
	}
}

// profileState is one profile of /-/status.
type profileState struct {
	Name            string  `json:"name"`
	State           string  `json:"state"`
	Token           string  `json:"token"`
	Waiting         int     `json:"waiting"`
	PausedSince     *string `json:"paused_since"`
	LastReloadError string  `json:"last_reload_error"`
}

// profile returns the named profile of /-/status.
func (p *proc) profile(t *testing.T, name string) profileState {
	t.Helper()
	for _, ps := range p.status(t).Profiles {
		if ps.Name == name {
			return profileState(ps)
		}
	}
	t.Fatalf("/-/status has no profile %q", name)
	return profileState{}
}

// waitProfile waits until the named profile of /-/status satisfies cond.
func (p *proc) waitProfile(t *testing.T, name, what string, cond func(profileState) bool) profileState {
	t.Helper()
	var last profileState
	testwait.Until(t, 10*time.Second, fmt.Sprintf("profile %s: %s (last: %+v)", name, what, &last), func() bool {
		last = p.profile(t, name)
		return cond(last)
	})
	return last
}

// pausedWith is a waitProfile condition: paused with n waiting calls.
func pausedWith(n int) func(profileState) bool {
	return func(ps profileState) bool { return ps.State == "paused" && ps.Waiting == n && ps.PausedSince != nil }
}

func isOK(ps profileState) bool { return ps.State == "ok" && ps.Waiting == 0 && ps.PausedSince == nil }

// callLines returns the log lines of program calls (one a call: docs/design.md#logs-and-metrics).
func callLines(p *proc) []map[string]any {
	var out []map[string]any
	for _, l := range p.logsWith("call") {
		if l["message"] == "call" {
			out = append(out, l)
		}
	}
	return out
}

// checkPauseLine checks a pause log line: warn, the profile, the rejected
// token's fingerprint, what to do and the config's absolute path.
func checkPauseLine(t *testing.T, p *proc, line map[string]any, fp string) {
	t.Helper()
	msg, _ := line["message"].(string)
	if line["level"] != "warn" {
		t.Errorf("pause line at level %v, want warn", line["level"])
	}
	if line["profile"] != "default" {
		t.Errorf("pause line names profile %v", line["profile"])
	}
	if line["token"] != fp {
		t.Errorf("pause line names token %v, want the rejected one %s", line["token"], fp)
	}
	for _, want := range []string{"Regenerate", "integration", p.cfgPath, "notion-proxy token set"} {
		if !strings.Contains(msg, want) {
			t.Errorf("pause line does not mention %q: %s", want, msg)
		}
	}
}

// waitingPage sends a page creation with call id id through p's base URL
// and waits until it is the one call waiting in the default profile; the
// channel gets its answer. The call is given up when the test ends.
func waitingPage(t *testing.T, p *proc, id string) <-chan reply {
	t.Helper()
	ch := sendAsync(t.Context(), p.baseClient(), "POST", p.baseURL()+"/v1/pages", pageBody(id), callHeader(id))
	p.waitProfile(t, "default", "the call "+id+" waiting", pausedWith(1))
	return ch
}
