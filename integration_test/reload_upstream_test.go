package integration_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/internal/testwait"
	"github.com/notion-proxy/notion-proxy/proxy/config"
)

// A reload that moves the upstream (issue 15): every send uses the config
// current at that moment, calls admitted before the reload included
// (docs/design.md#config-and-reloads), and a token only ever reaches the upstream configured with it. Two
// fake Notions stand for the old and the new upstream; each keeps its own
// record of what it was sent.

// checkMoved checks the records of both fakes after the call id moved from
// old (which accepts tokOld) to new (tokNew): the call reached the new
// upstream with the new token, once, and the old upstream never saw the
// new token.
func checkMoved(t *testing.T, oldFake, newFake *fakenotion.Server, id, tokNew string) {
	t.Helper()
	if got := withToken(oldFake, tokNew); len(got) != 0 {
		t.Errorf("the old upstream was sent the new token %d times", len(got))
	}
	sent := withID(newFake, id)
	if len(sent) != 1 || sent[0].Token != tokNew {
		t.Errorf("the new upstream saw the call %d times (new token: %v), want once with the new token", len(sent), len(sent) == 1 && sent[0].Token == tokNew)
	}
}

func TestAPausedCallGoesToTheUpstreamOfTheReload(t *testing.T) {
	oldFake, oldCA := startFake(t, tokA)
	newFake, newCA := startFake(t, tokB)
	p := startProxy(t, tokenConfig(oldFake, oldCA, "", tokA))
	if r := admin(t, p, "/-/revoke", ""); r.code != 200 {
		t.Fatalf("revoke: %v", r)
	}
	waiting := waitingPage(t, p, "moved-paused")

	writeAtomic(t, p.cfgPath, []byte(tokenConfig(newFake, newCA, "", tokB)))
	if r := await(t, "the paused call", waiting, 20*time.Second); r.err != nil || r.code != 200 {
		t.Fatalf("the paused call got %v, want 200 from the new upstream", r)
	}
	checkMoved(t, oldFake, newFake, "moved-paused", tokB)
	if n := newFake.Applied()["moved-paused"]; n != 1 {
		t.Errorf("applied %d times at the new upstream, want 1", n)
	}
	if n := len(withID(oldFake, "moved-paused")); n != 0 {
		t.Errorf("the old upstream saw the paused call %d times", n)
	}
	p.stop()
	secretsIn(t, p, tokA, tokB)
}

func TestARetryingCallGoesToTheUpstreamOfTheReload(t *testing.T) {
	oldFake, oldCA := startFake(t, tokA)
	newFake, newCA := startFake(t, tokB)
	const retry = "retry: {max_wait: 60s}\n"
	p := startProxy(t, tokenConfig(oldFake, oldCA, retry, tokA))
	oldFake.FailNext(1<<30, 429, "1")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	retrying := sendAsync(ctx, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, callHeader("moved-retrying"))
	testwait.Until(t, 10*time.Second, "the call to be rate-limited by the old upstream", func() bool {
		return len(withID(oldFake, "moved-retrying")) > 0
	})

	writeAtomic(t, p.cfgPath, []byte(tokenConfig(newFake, newCA, retry, tokB)))
	if r := await(t, "the retrying call", retrying, 30*time.Second); r.err != nil || r.code != 200 {
		t.Fatalf("the retrying call got %v, want 200 from the new upstream", r)
	}
	checkMoved(t, oldFake, newFake, "moved-retrying", tokB)
	p.stop()
	secretsIn(t, p, tokA, tokB)
}

// TestFirstRunWithATokenAndAnotherUpstream: a call waits on the starter
// config (no token); the config written next has a token and another
// upstream, and the waiting call goes there.
func TestFirstRunWithATokenAndAnotherUpstream(t *testing.T) {
	oldFake, oldCA := startFake(t, tokA)
	newFake, newCA := startFake(t, tokB)
	starter := strings.Replace(string(config.StarterConfig()), "listen: 127.0.0.1:8787\n", "listen: 127.0.0.1:0\n", 1)
	starter = strings.Replace(starter, "upstream: https://api.notion.com\n", upstreamConfig(oldFake, oldCA), 1)
	if !strings.Contains(starter, oldFake.URL()) || !strings.Contains(starter, "listen: 127.0.0.1:0\n") {
		t.Fatalf("the starter config changed shape:\n%s", starter)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "notion-proxy.yaml")
	if err := os.WriteFile(path, []byte(starter), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProxyAt(t, dir, path)
	waiting := waitingPage(t, p, "moved-first-run")

	withToken := strings.Replace(starter, upstreamConfig(oldFake, oldCA), upstreamConfig(newFake, newCA)+"token: "+tokB+"\n", 1)
	writeAtomic(t, path, []byte(withToken))
	if r := await(t, "the waiting call", waiting, 20*time.Second); r.err != nil || r.code != 200 {
		t.Fatalf("the waiting call got %v, want 200 from the new upstream", r)
	}
	checkMoved(t, oldFake, newFake, "moved-first-run", tokB)
	if n := len(oldFake.Requests()); n != 0 {
		t.Errorf("the old upstream was sent %d calls", n)
	}
	p.stop()
	secretsIn(t, p, tokA, tokB)
}

// TestAReloadedPauseTimeoutAppliesToWaitingCalls: a call waiting under
// pause.timeout 10m gives up soon after a reload sets 1s, with Notion's 401.
func TestAReloadedPauseTimeoutAppliesToWaitingCalls(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, tokenConfig(fake, fakeCA, "pause: {timeout: 10m}\n", tokA))
	if r := admin(t, p, "/-/revoke", ""); r.code != 200 {
		t.Fatalf("revoke: %v", r)
	}
	waiting := waitingPage(t, p, "short-timeout")

	writeAtomic(t, p.cfgPath, []byte(tokenConfig(fake, fakeCA, "pause: {timeout: 1s}\n", tokA)))
	if r := await(t, "the waiting call", waiting, 20*time.Second); r.err != nil || r.code != 401 {
		t.Fatalf("the waiting call got %v, want its 401 under the new pause.timeout", r)
	}
	if n := len(withID(fake, "short-timeout")); n != 0 {
		t.Errorf("the fake saw the call %d times", n)
	}
}
