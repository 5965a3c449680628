package integration_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/internal/redistest"
	"github.com/notion-proxy/notion-proxy/internal/testwait"
	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// Many replicas (docs/design.md#many-replicas): three proxy processes, one fake Notion and a
// real redis-server; results read from the fake's own record.

// sharedKeyEnv is the sealing key every replica of these tests gets.
var sharedKeyEnv = "NOTION_PROXY_SHARED_KEY=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{42}, 32))

// startReplicas starts n proxies, each with its own config file made of
// the fake as upstream, a shared section for redisURL and profile (YAML).
func startReplicas(t *testing.T, n int, fake *fakenotion.Server, fakeCA, redisURL, profile string) []*proc {
	t.Helper()
	var ps []*proc
	for range n {
		dir := t.TempDir()
		path := filepath.Join(dir, "notion-proxy.yaml")
		writeAtomic(t, path, []byte(replicaConfig(fake, fakeCA, redisURL, profile)))
		ps = append(ps, startProxyEnv(t, dir, path, []string{sharedKeyEnv}))
	}
	return ps
}

// replicaConfig is one replica's whole config file.
func replicaConfig(fake *fakenotion.Server, fakeCA, redisURL, profile string) string {
	return "listen: 127.0.0.1:0\n" + upstreamConfig(fake, fakeCA) +
		"shared:\n  redis: " + redisURL + "\n  prefix: 'it:'\n" + profile
}

// sharedState is the shared part of the replica's /-/status.
func (p *proc) sharedState(t *testing.T) string {
	t.Helper()
	st := p.status(t)
	if st.Shared == nil {
		t.Fatal("/-/status has no shared part")
	}
	return st.Shared.State
}

// waitShared waits until every replica's shared state is state.
func waitShared(t *testing.T, ps []*proc, state string) {
	t.Helper()
	for i, p := range ps {
		testwait.Until(t, 10*time.Second, fmt.Sprintf("replica %d's shared state %s", i, state), func() bool { return p.sharedState(t) == state })
	}
}

// postPages sends one POST /v1/pages per id, spread over the replicas, all
// at once, and returns each call's status by id.
func postPages(t *testing.T, ps []*proc, ids []string) map[string]int {
	t.Helper()
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	for i, id := range ids {
		p := ps[i%len(ps)]
		wg.Go(func() {
			code, _, _ := do(t, p.baseClient(), "POST", p.baseURL()+"/v1/pages", pageBody(id),
				map[string]string{"X-Test-Call-Id": id, "Content-Type": "application/json"})
			mu.Lock()
			got[id] = code
			mu.Unlock()
		})
	}
	wg.Wait()
	return got
}

// TestReplicasRefreshOAuthOnce: the access token is revoked while 30
// writes wait across three replicas: one refresh at the fake, all 30
// answered 200, each applied once.
func TestReplicasRefreshOAuthOnce(t *testing.T) {
	srv := redistest.Start(t)
	fake, fakeCA := startOAuthFake(t)
	ps := startReplicas(t, 3, fake, fakeCA, srv.URL(""),
		replicaOAuth("stale-access-token-0001"))
	waitShared(t, ps, "connected")

	// The stale access token is rejected: one refresh for everyone.
	got := postPages(t, ps, []string{"warm-0", "warm-1", "warm-2"})
	for id, code := range got {
		if code != 200 {
			t.Fatalf("%s: %d", id, code)
		}
	}
	if n := fake.Hits("/v1/oauth/token"); n != 1 {
		t.Fatalf("%d refreshes at start, want 1", n)
	}
	access, refresh := "", ""
	for _, p := range ps {
		if a, r := oauthPair(t, p); a != "stale-access-token-0001" {
			access, refresh = a, r // the replica that refreshed wrote it back
		}
	}
	if access == "" {
		t.Fatal("no replica wrote the refreshed token back")
	}
	// The others write it too: the refresh token their files held is spent.
	waitOAuthPair(t, ps, access, refresh)

	fake.Reset()
	fake.Revoke(access)
	var ids []string
	for i := range 30 {
		ids = append(ids, fmt.Sprintf("write-%02d", i))
	}
	got = postPages(t, ps, ids)
	for _, id := range ids {
		if got[id] != 200 {
			t.Errorf("%s: %d, want 200", id, got[id])
		}
		if n := fake.Applied()[id]; n != 1 {
			t.Errorf("%s applied %d times, want once", id, n)
		}
	}
	if n := fake.Hits("/v1/oauth/token"); n != 1 {
		t.Errorf("%d refreshes at the fake for 30 calls on 3 replicas, want exactly 1", n)
	}
	newest, newestRefresh := "", ""
	for _, p := range ps {
		if a, r := oauthPair(t, p); a != access {
			newest, newestRefresh = a, r
		}
	}
	if newest == "" || newestRefresh == refresh {
		t.Fatalf("no replica wrote the second refresh's pair back (refresh token %q)", newestRefresh)
	}
	waitOAuthPair(t, ps, newest, newestRefresh)
}

// oauthPair is the OAuth access and refresh token in p's config file.
func oauthPair(t *testing.T, p *proc) (access, refresh string) {
	t.Helper()
	cfg, err := config.Parse(mustRead(t, p.cfgPath), p.cfgPath, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Profiles[0].OAuth
	return o.AccessToken, o.RefreshToken
}

// waitOAuthPair waits until every replica's config file holds this pair.
func waitOAuthPair(t *testing.T, ps []*proc, access, refresh string) {
	t.Helper()
	for i, p := range ps {
		testwait.Until(t, 5*time.Second, fmt.Sprintf("replica %d's config to hold the refreshed pair", i), func() bool {
			a, r := oauthPair(t, p)
			return a == access && r == refresh
		})
	}
}

// mustRead reads a file or fails the test.
func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestReplicasSharePauseAndToken: a token rejected on one replica pauses
// all (the others send it no more); a token written into one replica's
// config resumes the waiting calls of all three.
func TestReplicasSharePauseAndToken(t *testing.T) {
	srv := redistest.Start(t)
	fake, fakeCA := startFake(t, tokA)
	ps := startReplicas(t, 3, fake, fakeCA, srv.URL(""), "token: "+tokA+"\n")
	waitShared(t, ps, "connected")

	fake.Revoke(tokA)
	first := make(chan int, 1)
	go func() {
		code, _, _ := do(t, ps[0].baseClient(), "GET", ps[0].baseURL()+"/v1/users/me", nil, map[string]string{"X-Test-Call-Id": "first"})
		first <- code
	}()
	for i, p := range ps {
		testwait.Until(t, 5*time.Second, fmt.Sprintf("replica %d paused", i), func() bool { return p.status(t).Profiles[0].State == "paused" })
	}
	t.Run("the other replicas pause without sending the dead token", func(t *testing.T) {
		var ids []string
		for i := range 9 {
			ids = append(ids, fmt.Sprintf("paused-%d", i))
		}
		results := make(chan map[string]int, 1)
		go func() { results <- postPages(t, ps, ids) }()
		for i, p := range ps {
			want := 3
			if i == 0 {
				want = 4
			}
			testwait.Until(t, 5*time.Second, fmt.Sprintf("replica %d's calls waiting", i), func() bool { return p.status(t).Profiles[0].Waiting == want })
		}
		rejected := 0
		for _, r := range fake.Requests() {
			if r.Token == tokA {
				rejected++
			}
		}
		if rejected != 1 {
			t.Errorf("the fake saw the dead token %d times, want once (the first call)", rejected)
		}

		fake.AddToken(tokB)
		start := time.Now()
		writeAtomic(t, ps[0].cfgPath, []byte(replicaConfig(fake, fakeCA, srv.URL(""), "token: "+tokB+"\n")))
		got := <-results
		took := time.Since(start)
		if code := <-first; code != 200 {
			t.Errorf("first call: %d", code)
		}
		for _, id := range ids {
			if got[id] != 200 || fake.Applied()[id] != 1 {
				t.Errorf("%s: %d, applied %d times; want 200, once", id, got[id], fake.Applied()[id])
			}
		}
		t.Logf("written into one replica's config: the calls of all three answered %v later", took)
		if took > 3*time.Second {
			t.Errorf("resumed after %v, want within about a second", took)
		}
	})
}

// TestReplicasWithoutRedis: Redis killed mid-run, each replica keeps
// serving on its own (a token written into each config resumes it) and
// says degraded; Redis back, they join again and share once more.
func TestReplicasWithoutRedis(t *testing.T) {
	srv := redistest.Start(t)
	fake, fakeCA := startFake(t, tokA, tokB)
	ps := startReplicas(t, 3, fake, fakeCA, srv.URL(""), "token: "+tokA+"\n")
	waitShared(t, ps, "connected")

	srv.Kill()
	waitShared(t, ps, "degraded")
	for i, p := range ps {
		if code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil); code != 200 {
			t.Fatalf("replica %d without Redis: %d %s", i, code, body)
		}
		if st := p.status(t); st.Shared.LastError == "" {
			t.Errorf("replica %d degraded without an error", i)
		}
		if m := metricsText(t, p); !strings.Contains(m, "\nnotion_proxy_shared_connected 0\n") {
			t.Errorf("replica %d's /metrics does not say it is disconnected", i)
		}
	}
	fake.Revoke(tokA)
	results := make(chan map[string]int, 1)
	go func() { results <- postPages(t, ps, []string{"alone-0", "alone-1", "alone-2"}) }()
	for i, p := range ps {
		testwait.Until(t, 5*time.Second, fmt.Sprintf("replica %d paused", i), func() bool { return p.status(t).Profiles[0].Waiting == 1 })
	}
	for _, p := range ps {
		writeAtomic(t, p.cfgPath, []byte(replicaConfig(fake, fakeCA, srv.URL(""), "token: "+tokB+"\n")))
	}
	for id, code := range <-results {
		if code != 200 {
			t.Errorf("%s: %d", id, code)
		}
	}

	srv.Restart()
	waitShared(t, ps, "connected")
	if m := metricsText(t, ps[0]); !strings.Contains(m, "\nnotion_proxy_shared_connected 1\n") {
		t.Error("/metrics does not say connected again")
	}
	fake.AddToken(tokC)
	writeAtomic(t, ps[1].cfgPath, []byte(replicaConfig(fake, fakeCA, srv.URL(""), "token: "+tokC+"\n")))
	// The status names a token by its fingerprint, never whole.
	shared := rewrite.Fingerprint(tokC)
	for i, p := range ps {
		testwait.Until(t, 5*time.Second, fmt.Sprintf("replica %d to use the token written on replica 1", i), func() bool {
			return p.status(t).Profiles[0].Token == shared
		})
	}
	t.Run("a reload that leaves the token source as it was keeps the shared token", func(t *testing.T) {
		want := shared
		before := ps[0].countLogs("config reloaded")
		writeAtomic(t, ps[0].cfgPath, []byte(replicaConfig(fake, fakeCA, srv.URL(""), "token: "+tokB+"\n")+"# an unrelated edit\n"))
		testwait.Until(t, 5*time.Second, "replica 0 to reload", func() bool { return ps[0].countLogs("config reloaded") > before })
		if got := ps[0].status(t).Profiles[0].Token; got != want {
			t.Errorf("after the reload replica 0 uses %s, want the shared %s", got, want)
		}
	})
}

// TestReplicasWithABrokenRedis: a wrong password, and a Redis that never
// answers: the proxy serves on its own and /-/status says why.
func TestReplicasWithABrokenRedis(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	tests := []struct {
		name string
		url  func(t *testing.T) string
		want string
	}{
		{"a wrong password", func(t *testing.T) string {
			return redistest.Start(t, "--requirepass", "right-password").URL("wrong-password")
		}, "WRONGPASS"},
		{"a Redis that never answers", func(t *testing.T) string { return redistest.StartSilent(t).URL() }, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := startReplicas(t, 1, fake, fakeCA, tt.url(t), "token: "+tokA+"\n")
			waitShared(t, ps, "degraded")
			if code, body, _ := do(t, ps[0].baseClient(), "GET", ps[0].baseURL()+"/v1/users/me", nil, nil); code != 200 {
				t.Fatalf("%d %s", code, body)
			}
			if st := ps[0].status(t); !strings.Contains(st.Shared.LastError, tt.want) || strings.Contains(st.Shared.LastError, "wrong-password") {
				t.Errorf("last_error %q, want one saying %s (and no password)", st.Shared.LastError, tt.want)
			}
		})
	}
}

// TestSharedModeNeedsItsKey: without the sealing key the proxy refuses
// to start, saying which variable to set.
func TestSharedModeNeedsItsKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notion-proxy.yaml")
	writeAtomic(t, path, []byte("listen: 127.0.0.1:0\nshared: {redis: 'redis://127.0.0.1:1/0'}\ntoken: "+tokA+"\n"))
	for _, cmd := range []string{"run", "check"} {
		c := exec.Command(binary, cmd, "--config", path)
		c.Dir = dir
		c.Env = append(os.Environ(), "NOTION_PROXY_SHARED_KEY=")
		out, err := c.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "NOTION_PROXY_SHARED_KEY is not set") {
			t.Errorf("%s: %v, output:\n%s\nwant a refusal naming NOTION_PROXY_SHARED_KEY", cmd, err, out)
		}
	}
}

// TestReplicasRunTheTokenCommandOnce: a token_command profile's command
// runs once for all replicas, at start and after a rejection.
func TestReplicasRunTheTokenCommandOnce(t *testing.T) {
	srv := redistest.Start(t)
	fake, fakeCA := startFake(t, tokA)
	dir := t.TempDir()
	runs, tokenFile := filepath.Join(dir, "runs"), filepath.Join(dir, "token")
	writeAtomic(t, tokenFile, []byte(tokA+"\n"))
	ps := startReplicas(t, 3, fake, fakeCA, srv.URL(""),
		fmt.Sprintf("token_command: [sh, -c, 'echo run >> %s; cat %s']\n", runs, tokenFile))
	waitShared(t, ps, "connected")
	count := func() int { return strings.Count(string(mustRead(t, runs)), "run") }
	for i, p := range ps {
		if code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil); code != 200 {
			t.Fatalf("replica %d: %d %s", i, code, body)
		}
	}
	if n := count(); n != 1 {
		t.Fatalf("the command ran %d times at start for three replicas, want once", n)
	}
	fake.Revoke(tokA)
	fake.AddToken(tokB)
	writeAtomic(t, tokenFile, []byte(tokB+"\n"))
	got := postPages(t, ps, []string{"cmd-0", "cmd-1", "cmd-2", "cmd-3", "cmd-4", "cmd-5"})
	for id, code := range got {
		if code != 200 {
			t.Errorf("%s: %d", id, code)
		}
	}
	if n := count(); n != 2 {
		t.Errorf("the command ran %d times in all, want twice (at start, after the rejection)", n)
	}
}

// TestReplicasShareARateLimitHold: a 429 on one replica holds the profile
// on the others: nothing of theirs reaches Notion before the hold ends.
func TestReplicasShareARateLimitHold(t *testing.T) {
	srv := redistest.Start(t)
	fake, fakeCA := startFake(t, tokA)
	ps := startReplicas(t, 3, fake, fakeCA, srv.URL(""), "token: "+tokA+"\n")
	waitShared(t, ps, "connected")

	fake.FailNext(1, 429, "2")
	first := make(chan int, 1)
	go func() {
		code, _, _ := do(t, ps[0].baseClient(), "GET", ps[0].baseURL()+"/v1/users/me", nil, map[string]string{"X-Test-Call-Id": "held-0"})
		first <- code
	}()
	until := map[int]time.Time{}
	for _, i := range []int{1, 2} {
		testwait.Until(t, 5*time.Second, fmt.Sprintf("replica %d held", i), func() bool {
			if u := ps[i].rateStatus(t).heldUntil("default"); u != nil {
				until[i] = *u
				return true
			}
			return false
		})
	}
	got := postPages(t, ps[1:], []string{"held-1", "held-2"})
	for i, id := range []string{"held-1", "held-2"} {
		if got[id] != 200 {
			t.Errorf("%s: %d", id, got[id])
		}
		sends := withID(fake, id)
		if len(sends) == 0 || sends[0].Time.Before(until[i+1].Add(-5*time.Millisecond)) {
			t.Errorf("%s reached the fake (%v) before its replica's hold ended (%v)", id, sends, until[i+1])
		}
	}
	if code := <-first; code != 200 {
		t.Errorf("the call that got the 429: %d", code)
	}
}

// TestReplicasRedisPasswordFromTheEnvironment: a Redis password made as
// the README's recipe makes it (base64, with / + and =) reaches Redis
// through shared.password_env; with the variable unset, run and check
// refuse the config naming it.
func TestReplicasRedisPasswordFromTheEnvironment(t *testing.T) {
	const password = "x9/Qe+Lr4mZ/0aB+c7=="
	srv := redistest.Start(t, "--requirepass", password)
	fake, fakeCA := startFake(t, tokA)
	dir := t.TempDir()
	path := filepath.Join(dir, "notion-proxy.yaml")
	writeAtomic(t, path, []byte("listen: 127.0.0.1:0\n"+upstreamConfig(fake, fakeCA)+
		"shared:\n  redis: "+srv.URL("")+"\n  password_env: REDIS_PASSWORD\n  prefix: 'it:'\ntoken: "+tokA+"\n"))

	p := startProxyEnv(t, dir, path, []string{sharedKeyEnv, "REDIS_PASSWORD=" + password})
	waitShared(t, []*proc{p}, "connected")
	if code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if logs := strings.Join(p.allLines(), "\n"); strings.Contains(logs, password) {
		t.Error("the log shows the Redis password")
	}

	for _, cmd := range []string{"run", "check"} {
		c := exec.Command(binary, cmd, "--config", path)
		c.Dir = dir
		c.Env = append(os.Environ(), sharedKeyEnv, "REDIS_PASSWORD=")
		out, err := c.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "shared.password_env names REDIS_PASSWORD, which is not set") {
			t.Errorf("%s without REDIS_PASSWORD: %v, output:\n%s\nwant a refusal naming it", cmd, err, out)
		}
	}
}

// TestReplicasWaitForRedisBeforeRefreshingAlone: Redis is down when the
// OAuth access token is revoked under calls on all three replicas; it is
// back before the replicas' patience ends: one refresh at the fake (the
// refresh token is sent once), every call answered 200.
func TestReplicasWaitForRedisBeforeRefreshingAlone(t *testing.T) {
	srv := redistest.Start(t)
	fake, fakeCA := startOAuthFake(t)
	ps := startReplicas(t, 3, fake, fakeCA, srv.URL(""),
		"pause: {timeout: 30s}\n"+replicaOAuth("stale-access-token-0001"))
	waitShared(t, ps, "connected")
	for id, code := range postPages(t, ps, []string{"warm-0", "warm-1", "warm-2"}) {
		if code != 200 {
			t.Fatalf("%s: %d", id, code)
		}
	}
	access := ""
	for _, p := range ps {
		if a, _ := oauthPair(t, p); a != "stale-access-token-0001" {
			access = a // the replica that refreshed wrote it back
		}
	}

	srv.Kill()
	waitShared(t, ps, "degraded")
	fake.Reset()
	fake.Revoke(access)
	var ids []string
	for i := range 9 {
		ids = append(ids, fmt.Sprintf("down-%d", i))
	}
	results := make(chan map[string]int, 1)
	go func() { results <- postPages(t, ps, ids) }()
	for i, p := range ps {
		testwait.Until(t, 5*time.Second, fmt.Sprintf("replica %d paused with its 3 calls", i), func() bool {
			st := p.status(t).Profiles[0]
			return st.State == "paused" && st.Waiting == 3
		})
	}
	srv.Restart()
	got := <-results
	for _, id := range ids {
		if got[id] != 200 || fake.Applied()[id] != 1 {
			t.Errorf("%s: %d, applied %d times; want 200, once", id, got[id], fake.Applied()[id])
		}
	}
	if n := fake.Hits("/v1/oauth/token"); n != 1 {
		t.Errorf("%d refreshes at the fake, want exactly 1: the refresh token was sent more than once", n)
	}
}

// TestReplicaRefreshesAloneWhenRedisStaysDown: Redis does not come back;
// after its patience (half of pause.timeout) the replica refreshes alone
// and its call is answered before pause.timeout.
func TestReplicaRefreshesAloneWhenRedisStaysDown(t *testing.T) {
	srv := redistest.Start(t)
	fake, fakeCA := startOAuthFake(t)
	ps := startReplicas(t, 1, fake, fakeCA, srv.URL(""),
		"pause: {timeout: 4s}\n"+replicaOAuth("stale-access-token-0001"))
	waitShared(t, ps, "connected")
	srv.Kill()
	waitShared(t, ps, "degraded")
	if got := postPages(t, ps, []string{"alone-0"}); got["alone-0"] != 200 {
		t.Errorf("alone-0: %d, want 200", got["alone-0"])
	}
	if n := fake.Hits("/v1/oauth/token"); n != 1 {
		t.Errorf("%d refreshes at the fake, want 1", n)
	}
	if ps[0].countLogs("refreshing on this replica alone") == 0 {
		t.Error("the log does not say the replica refreshed alone")
	}
}

// TestReplicasAnswerWithNotions429: a call on another replica that gives
// up waiting for a shared hold (retry.max_wait shorter than it) gets the
// 429 Notion answered, as a call on the replica that got it does, not one
// of the proxy's making.
func TestReplicasAnswerWithNotions429(t *testing.T) {
	srv := redistest.Start(t)
	fake, fakeCA := startFake(t, tokA)
	ps := startReplicas(t, 2, fake, fakeCA, srv.URL(""), "retry: {max_wait: 2s}\ntoken: "+tokA+"\n")
	waitShared(t, ps, "connected")

	fake.FailNext(1, 429, "30")
	code, notions, hdr := do(t, ps[0].baseClient(), "GET", ps[0].baseURL()+"/v1/users/me", nil, nil)
	if code != 429 || hdr.Get("X-Notion-Request-Id") == "" {
		t.Fatalf("the call that got the 429: %d %s (request id %q)", code, notions, hdr.Get("X-Notion-Request-Id"))
	}
	testwait.Until(t, 5*time.Second, "replica 1 held", func() bool { return ps[1].rateStatus(t).heldUntil("default") != nil })
	code, body, got := do(t, ps[1].baseClient(), "GET", ps[1].baseURL()+"/v1/users/me", nil, nil)
	if code != 429 || string(body) != string(notions) {
		t.Errorf("the held replica answered %d %s, want Notion's 429 %s", code, body, notions)
	}
	for _, k := range []string{"Retry-After", "Content-Type", "X-Notion-Request-Id"} {
		if got.Get(k) != hdr.Get(k) {
			t.Errorf("%s: %q, want Notion's %q", k, got.Get(k), hdr.Get(k))
		}
	}
	if n := len(fake.Requests()); n != 1 {
		t.Errorf("the fake saw %d calls, want 1 (the held replica sends nothing)", n)
	}
}

// TestReplicaWaitingForRedisTakesAWrittenToken: while a replica waits for
// Redis to refresh, a person writes a token into its config: the calls
// resume with it and the replica refreshes nothing.
func TestReplicaWaitingForRedisTakesAWrittenToken(t *testing.T) {
	srv := redistest.Start(t)
	fake, fakeCA := startOAuthFake(t, tokB)
	profile := func(access string) string { return "pause: {timeout: 60s}\n" + replicaOAuth(access) }
	ps := startReplicas(t, 1, fake, fakeCA, srv.URL(""), profile("stale-access-token-0001"))
	waitShared(t, ps, "connected")
	srv.Kill()
	waitShared(t, ps, "degraded")
	results := make(chan map[string]int, 1)
	go func() { results <- postPages(t, ps, []string{"written-0"}) }()
	ps[0].waitLog("waiting for Redis", 5*time.Second)
	writeAtomic(t, ps[0].cfgPath, []byte(replicaConfig(fake, fakeCA, srv.URL(""), profile(tokB))))
	if got := <-results; got["written-0"] != 200 {
		t.Errorf("written-0: %d, want 200", got["written-0"])
	}
	ps[0].waitLog("no refresh needed", 5*time.Second)
	if n := fake.Hits("/v1/oauth/token"); n != 0 {
		t.Errorf("%d refreshes at the fake, want none", n)
	}
}

// startOAuthFake starts a fake Notion accepting tokens, with OAuth on for
// client-1 and refresh-token-0001 (replicaOAuth's).
func startOAuthFake(t *testing.T, tokens ...string) (*fakenotion.Server, string) {
	fake, fakeCA := startFake(t, tokens...)
	fake.EnableOAuth("client-1", "client-secret-1", "refresh-token-0001")
	return fake, fakeCA
}

// replicaOAuth is the OAuth profile of the replica tests, with access as
// its access token.
func replicaOAuth(access string) string {
	return "oauth: {client_id: client-1, client_secret: client-secret-1, refresh_token: refresh-token-0001, access_token: " + access + "}\n"
}
