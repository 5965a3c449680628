package integration_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// Tests of the notifications (docs/design.md#the-person-who-fixes-the-token): each event reaches the command and
// the webhook once, within a second, with its facts and never a token; a
// dead webhook never slows a call.

// hookEvent is one event as the webhook or the command received it.
type hookEvent struct {
	Event     string    `json:"event"`
	Profile   string    `json:"profile"`
	Time      time.Time `json:"time"`
	Text      string    `json:"text"`
	Token     string    `json:"token"`
	Since     *string   `json:"since"`
	Waiting   *int      `json:"waiting"`
	Config    string    `json:"config"`
	Page      string    `json:"page"`
	Do        string    `json:"do"`
	PausedFor string    `json:"paused_for"`
	Replayed  *int      `json:"replayed"`
	Source    string    `json:"source"`
	Error     string    `json:"error"`
	Calls     int       `json:"calls"`
	Reason    string    `json:"reason"`

	raw     string
	arrived time.Time
}

// hookReceiver is an incoming webhook that answers its first POST with 500
// and records every event it accepts.
type hookReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	posts int
	evs   []hookEvent
}

func startHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.posts++
		if h.posts == 1 {
			http.Error(w, "first post fails", http.StatusInternalServerError)
			return
		}
		ev := hookEvent{raw: string(body), arrived: time.Now()}
		if err := json.Unmarshal(body, &ev); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook got %q %s (%v)", r.Header.Get("Content-Type"), body, err)
		}
		h.evs = append(h.evs, ev)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) events() []hookEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookEvent(nil), h.evs...)
}

// commandEvents reads the events the notify command appended to path.
func commandEvents(t *testing.T, path string) []hookEvent {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var out []hookEvent
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		ev := hookEvent{raw: line}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("the command got a line that is no event: %v: %s", err, line)
		}
		out = append(out, ev)
	}
	return out
}

// notifyConfig is the notify section sending to h and to a command that
// appends its stdin to out.
func notifyConfig(h *hookReceiver, out string) string {
	return fmt.Sprintf("notify:\n  command: [\"/bin/sh\", \"-c\", \"cat >> \\\"$0\\\"\", %q]\n  webhook: %s/hooks/T0/SECRET-PATH\n", out, h.srv.URL)
}

// ofKind returns the events of kind.
func ofKind(evs []hookEvent, kind string) []hookEvent {
	var out []hookEvent
	for _, ev := range evs {
		if ev.Event == kind {
			out = append(out, ev)
		}
	}
	return out
}

// waitEvents waits until both the webhook and the command got n events of
// kind, and returns the webhook's.
func waitEvents(t *testing.T, h *hookReceiver, out, kind string, n int) []hookEvent {
	t.Helper()
	testwait.Until(t, 10*time.Second, fmt.Sprintf("%d %s event(s) at the webhook and the command", n, kind), func() bool {
		return len(ofKind(h.events(), kind)) >= n && len(ofKind(commandEvents(t, out), kind)) >= n
	})
	return ofKind(h.events(), kind)
}

// checkOnceEach checks that every event reached the webhook and the
// command exactly once, the webhook within a second of the event, and
// returns the kinds seen.
func checkOnceEach(t *testing.T, h *hookReceiver, out string) map[string]int {
	t.Helper()
	hook, cmd := h.events(), commandEvents(t, out)
	kinds := map[string]int{}
	for _, ev := range hook {
		kinds[ev.Event]++
		t.Logf("%s reached the webhook %v after it happened", ev.Event, ev.arrived.Sub(ev.Time).Round(time.Millisecond))
		if d := ev.arrived.Sub(ev.Time); d > time.Second {
			t.Errorf("%s event arrived %v after it happened, want within a second", ev.Event, d)
		}
	}
	for kind, n := range kinds {
		if n != 1 || len(ofKind(cmd, kind)) != 1 {
			t.Errorf("%s: %d at the webhook, %d at the command; want exactly 1 each", kind, n, len(ofKind(cmd, kind)))
		}
	}
	return kinds
}

func TestEventsReachTheCommandAndTheWebhook(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	h := startHookReceiver(t)
	out := filepath.Join(t.TempDir(), "events.jsonl")
	cfg := tokenConfig(fake, fakeCA, notifyConfig(h, out)+"pause: {timeout: 1s}\n", tokA)
	p := startProxy(t, cfg)
	url := p.baseURL() + "/v1/users/me"

	t.Run("a revoked token is a paused event with what to do", func(t *testing.T) {
		fake.Revoke(tokA)
		ch := sendAsync(context.Background(), p.baseClient(), "GET", url, nil, nil)
		p.waitProfile(t, "default", "paused", pausedWith(1))
		ev := waitEvents(t, h, out, "paused", 1)[0]
		if ev.Profile != "default" || ev.Token == "" || ev.Since == nil || ev.Waiting == nil || ev.Config != p.cfgPath ||
			ev.Page != p.baseURL()+"/-/" {
			t.Errorf("paused event lacks its facts: %s", ev.raw)
		}
		for _, want := range []string{"Regenerate", "notion-proxy token set", p.cfgPath, p.baseURL() + "/-/"} {
			if !strings.Contains(ev.Text, want) {
				t.Errorf("text does not say %q: %s", want, ev.Text)
			}
		}
		checkOriginal401(t, "the waiting call", await(t, "the waiting call", ch, 10*time.Second))
	})
	t.Run("calls that waited past pause.timeout are one gave_up event", func(t *testing.T) {
		ev := waitEvents(t, h, out, "gave_up", 1)[0]
		if ev.Calls != 1 || ev.Reason != "pause.timeout" || ev.Profile != "default" {
			t.Errorf("gave_up event: %s", ev.raw)
		}
	})
	t.Run("a new token written is a resumed event", func(t *testing.T) {
		fake.AddToken(tokB)
		ch := sendAsync(context.Background(), p.baseClient(), "GET", url, nil, nil)
		p.waitProfile(t, "default", "the call waiting", pausedWith(1))
		writeAtomic(t, p.cfgPath, []byte(strings.Replace(cfg, tokA, tokB, 1)))
		if r := await(t, "the waiting call", ch, 10*time.Second); r.code != 200 {
			t.Fatalf("waiting call: %v", r)
		}
		ev := waitEvents(t, h, out, "resumed", 1)[0]
		if ev.PausedFor == "" || ev.Replayed == nil || *ev.Replayed != 1 {
			t.Errorf("resumed event: %s", ev.raw)
		}
	})
	t.Run("a config that does not parse is a config_error with file and line", func(t *testing.T) {
		broken := strings.Replace(cfg, tokA, tokB, 1) + "listne: x\n"
		writeAtomic(t, p.cfgPath, []byte(broken))
		ev := waitEvents(t, h, out, "config_error", 1)[0]
		line := strings.Count(broken, "\n")
		if want := fmt.Sprintf("%s:%d: unknown key", p.cfgPath, line); !strings.Contains(ev.Error, want) || !strings.Contains(ev.Text, want) {
			t.Errorf("config_error does not say %q: %s", want, ev.raw)
		}
	})
	t.Run("deliveries are counted", func(t *testing.T) {
		for _, want := range []string{`notion_proxy_notifications_total{outcome="ok",sink="webhook"} 4`, `notion_proxy_notifications_total{outcome="ok",sink="command"} 4`} {
			testwait.Until(t, 5*time.Second, "/metrics to show "+want, func() bool {
				_, metrics, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/metrics", nil, nil)
				return strings.Contains(string(metrics), want)
			})
		}
	})
	p.stop()
	if kinds := checkOnceEach(t, h, out); len(kinds) != 4 {
		t.Errorf("events %v, want paused, gave_up, resumed and config_error", kinds)
	}
	for _, ev := range append(h.events(), commandEvents(t, out)...) {
		for _, tok := range []string{tokA, tokB} {
			if strings.Contains(ev.raw, tok) {
				t.Errorf("an event holds a token: %s", ev.raw)
			}
		}
		audit.addText(ev.raw)
	}
	for _, line := range p.allLines() {
		if strings.Contains(line, "SECRET-PATH") {
			t.Errorf("a log line holds the webhook URL: %s", line)
		}
	}
}

func TestRefreshFailureIsAnEvent(t *testing.T) {
	fake, fakeCA := startFake(t)
	fake.EnableOAuth("client-1", "client-secret-1", "the-valid-refresh-token")
	h := startHookReceiver(t)
	out := filepath.Join(t.TempDir(), "events.jsonl")
	p := startProxy(t, upstreamConfig(fake, fakeCA)+notifyConfig(h, out)+
		"oauth: {client_id: client-1, client_secret: client-secret-1, refresh_token: a-dead-refresh-token}\n")
	ev := waitEvents(t, h, out, "refresh_failed", 1)[0]
	if ev.Source != "oauth" || !strings.Contains(ev.Error, "invalid_grant") || !strings.Contains(ev.Text, "refresh_token") {
		t.Errorf("refresh_failed event: %s", ev.raw)
	}
	if n := len(ofKind(h.events(), "paused")); n != 0 {
		t.Errorf("%d paused events for a profile the proxy refreshes itself", n)
	}
	p.stop()
	checkOnceEach(t, h, out)
	for _, ev := range append(h.events(), commandEvents(t, out)...) {
		for _, s := range []string{"client-secret-1", "a-dead-refresh-token"} {
			if strings.Contains(ev.raw, s) {
				t.Errorf("an event holds a secret: %s", ev.raw)
			}
		}
	}
}

func TestAFailingTokenCommandIsOneEventNotOneARetry(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	h := startHookReceiver(t)
	out := filepath.Join(t.TempDir(), "events.jsonl")
	p := startProxy(t, upstreamConfig(fake, fakeCA)+notifyConfig(h, out)+
		`token_command: ["/bin/sh", "-c", "echo vault is sealed >&2; exit 1"]`+"\n")
	ev := waitEvents(t, h, out, "refresh_failed", 1)[0]
	if ev.Source != "token_command" || !strings.Contains(ev.Error, "exit status 1") || ev.Profile != "default" {
		t.Errorf("refresh_failed event: %s", ev.raw)
	}
	testwait.Until(t, 10*time.Second, "the refresh to be retried", func() bool { return p.countLogs("token refresh failed") >= 2 })
	p.stop()
	checkOnceEach(t, h, out)
}

// TestADeadWebhookNeverSlowsCalls points the webhook at a server that
// accepts connections and never answers: pauses and resumes still happen at
// once, and every call is answered as fast as without notifications.
func TestADeadWebhookNeverSlowsCalls(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	cfg := tokenConfig(fake, fakeCA, "notify: {webhook: http://"+ln.Addr().String()+"/hook}\n", tokA)
	p := startProxy(t, cfg)
	tok := tokA
	for i := range 5 {
		admin(t, p, "/-/revoke", "")
		ch := sendAsync(context.Background(), p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil)
		p.waitProfile(t, "default", "the call waiting", pausedWith(1))
		if tok == tokA {
			tok = tokB
		} else {
			tok = tokA
		}
		start := time.Now()
		writeAtomic(t, p.cfgPath, []byte(strings.Replace(cfg, tokA, tok, 1)))
		r := await(t, "the waiting call", ch, 10*time.Second)
		if r.code != 200 {
			t.Fatalf("round %d: %v", i, r)
		}
		// The webhook's own timeout is 10s: a call that waited for it
		// would take that long.
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("round %d: the call took %v after the token write", i, d)
		}
	}
	var slowest time.Duration
	for range 20 {
		start := time.Now()
		if code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil); code != 200 {
			t.Fatalf("%d %s", code, body)
		}
		d := time.Since(start)
		slowest = max(slowest, d)
		if d > 2*time.Second {
			t.Errorf("a call took %v", d)
		}
	}
	t.Logf("with the webhook hanging, the slowest of 20 calls took %v", slowest)
}

// TestTheNotifyCommandGetsNoSecretFromTheEnvironment runs a command that
// writes its whole environment to a file: neither the token_env variable
// nor a variable the config expands (the webhook) reaches it, PATH does.
func TestTheNotifyCommandGetsNoSecretFromTheEnvironment(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	h := startHookReceiver(t)
	out := filepath.Join(t.TempDir(), "env.txt")
	webhook := h.srv.URL + "/hooks/T0/SECRET-WEBHOOK-PATH"
	dir := t.TempDir()
	path := filepath.Join(dir, "notion-proxy.yaml")
	cfg := "listen: 127.0.0.1:0\n" + upstreamConfig(fake, fakeCA) +
		fmt.Sprintf("notify:\n  command: [\"/bin/sh\", \"-c\", \"env >> \\\"$0\\\"\", %q]\n", out) +
		"  webhook: ${NOTIFY_TEST_WEBHOOK}\ntoken_env: MY_NOTION_TOKEN\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProxyEnv(t, dir, path, []string{"MY_NOTION_TOKEN=" + tokA, "NOTIFY_TEST_WEBHOOK=" + webhook})

	fake.Revoke(tokA)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // the waiting call is not the point here
	sendAsync(ctx, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil)
	p.waitProfile(t, "default", "paused", pausedWith(1))
	var env string
	testwait.Until(t, 10*time.Second, "the command to write its environment for the paused event", func() bool {
		data, _ := os.ReadFile(out)
		env = string(data)
		return strings.Contains(env, "NOTION_PROXY_EVENT=paused")
	})
	testwait.Until(t, 10*time.Second, "the webhook named by ${NOTIFY_TEST_WEBHOOK} to get the paused event", func() bool {
		return len(ofKind(h.events(), "paused")) == 1
	})
	for name, secret := range map[string]string{"the token_env token": tokA, "the expanded webhook URL": "SECRET-WEBHOOK-PATH"} {
		if strings.Contains(env, secret) {
			t.Errorf("the command's environment holds %s:\n%s", name, env)
		}
	}
	for _, want := range []string{"\nPATH=", "NOTION_PROXY_PROFILE=default", "NOTION_PROXY_TEXT="} {
		if !strings.Contains("\n"+env, want) {
			t.Errorf("the command's environment lacks %q:\n%s", strings.TrimPrefix(want, "\n"), env)
		}
	}
}

// TestANotifySectionAddedByAReloadTakesEffect starts without notify:,
// adds a webhook and a command by rewriting the config, and revokes the
// token: the paused event reaches both.
func TestANotifySectionAddedByAReloadTakesEffect(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	h := startHookReceiver(t)
	out := filepath.Join(t.TempDir(), "events.jsonl")
	cfg := tokenConfig(fake, fakeCA, "", tokA)
	p := startProxy(t, cfg)
	reloads := p.countLogs("config reloaded")
	writeAtomic(t, p.cfgPath, []byte(tokenConfig(fake, fakeCA, notifyConfig(h, out), tokA)))
	testwait.Until(t, 10*time.Second, "the config with notify: to be reloaded", func() bool {
		return p.countLogs("config reloaded") > reloads
	})
	fake.Revoke(tokA)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // the waiting call is not the point here
	sendAsync(ctx, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil)
	p.waitProfile(t, "default", "paused", pausedWith(1))
	if ev := waitEvents(t, h, out, "paused", 1)[0]; ev.Profile != "default" {
		t.Errorf("paused event: %s", ev.raw)
	}
}
