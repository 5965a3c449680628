package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// The Node client of the SDK tests: js/sdk_client.mjs, its dependencies
// pinned in js/package.json and js/package-lock.json.
const (
	sdkDir    = "js"
	sdkScript = "sdk_client.mjs"
	// sdkWorkers workers each make one warm-up call, then sdkRounds rounds
	// of sdkCallsPerRound calls, two of them writes (pages.create,
	// pages.update). The script checks the same arithmetic.
	sdkWorkers       = 4
	sdkRounds        = 2
	sdkCallsPerRound = 6
	sdkWritesPerRnd  = 2
	sdkUserAgent     = "notionhq-client/5.26.0"
)

// TestSDKThroughTheProxy runs the official Notion JavaScript SDK
// (@notionhq/client) against the proxy and a fake Notion, in the two set-ups
// the README gives Node users. Mid-run the fake revokes the token; once the
// proxy has paused, the fake is told to answer the next calls 429 and the
// test writes a new token. Every SDK call must resolve, no error may reach
// the SDK's caller, and each write must be applied exactly once.
func TestSDKThroughTheProxy(t *testing.T) {
	node := lookTool(t, "node")
	ensureNodeModules(t)
	setups := []struct {
		name, mode string
	}{
		{"base URL", "base"},
		{"HTTPS forward proxy via undici ProxyAgent", "https-proxy"},
	}
	for _, s := range setups {
		t.Run("the SDK through "+s.name+" sees no error across a revocation and 429s", func(t *testing.T) {
			runSDKClient(t, node, s.mode)
		})
	}
}

// sdkSummary is the script's one line of output.
type sdkSummary struct {
	Calls  int               `json:"calls"`
	Errors []json.RawMessage `json:"errors"`
	IDs    []string          `json:"ids"`
}

func runSDKClient(t *testing.T, node, mode string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fake, fakeCA := startFake(t, tokA)
	cfg := "listen: 127.0.0.1:0\n" + upstreamConfig(fake, fakeCA)
	p := startProxy(t, cfg+"token: "+tokA+"\n")

	cmd := exec.CommandContext(ctx, node, sdkScript)
	cmd.Dir = sdkDir
	cmd.Env = append(os.Environ(),
		"HTTPS_PROXY=", "HTTP_PROXY=", "NO_PROXY=", "https_proxy=", "http_proxy=", "no_proxy=",
		"NOTION_PROXY_MODE="+mode,
		"NOTION_PROXY_URL="+p.baseURL(),
		"NOTION_PROXY_CA="+p.caPath,
		"SDK_CLIENT_WORKERS="+strconv.Itoa(sdkWorkers),
		"SDK_CLIENT_ROUNDS="+strconv.Itoa(sdkRounds),
	)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-exited // buffered: empty only while the script still runs
		if t.Failed() {
			t.Logf("sdk_client stderr:\n%s", stderr.String())
		}
	})
	stillRunning := func() bool {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("sdk_client exited early (%v): stdout %s", err, stdout.String())
		default:
		}
		return true
	}

	// The warm-up calls went through with token A; the script now waits
	// for a line on stdin before its main run.
	testwait.Until(t, 20*time.Second, "the SDK's warm-up calls", func() bool {
		return stillRunning() && servedCalls(fake) >= sdkWorkers
	})
	fake.Revoke(tokA)
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 20*time.Second, "the profile to pause with calls waiting", func() bool {
		st := p.status(t)
		return stillRunning() && st.Profiles[0].State == "paused" && st.Profiles[0].Waiting >= 1
	})
	fake.FailNext(3, 429, "1") // answered to the replays
	fake.AddToken(tokB)
	writeAtomic(t, p.cfgPath, []byte(cfg+"token: "+tokB+"\n"))

	var exitErr error
	select {
	case exitErr = <-exited:
		exited <- exitErr
	case <-ctx.Done():
		t.Fatalf("sdk_client did not finish within the test's deadline; stdout %s", stdout.String())
	}
	t.Logf("sdk_client ran %v", time.Since(start).Round(time.Millisecond))

	var sum sdkSummary
	out := strings.TrimSpace(stdout.String())
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("sdk_client (exit: %v) printed no summary: %v: %q", exitErr, err, out)
	}
	if len(sum.Errors) > 0 {
		t.Errorf("%d errors reached the SDK's caller:", len(sum.Errors))
		for _, e := range sum.Errors {
			t.Errorf("  %s", e)
		}
	}
	if exitErr != nil {
		t.Errorf("sdk_client: %v", exitErr)
	}
	if want := sdkWorkers * (1 + sdkRounds*sdkCallsPerRound); sum.Calls != want {
		t.Errorf("sdk_client made %d calls, want %d", sum.Calls, want)
	}

	// The fake's own record: each write applied exactly once, nothing else
	// applied.
	applied := fake.Applied()
	if want := sdkWorkers * sdkRounds * sdkWritesPerRnd; len(sum.IDs) != want {
		t.Errorf("sdk_client reported %d write ids, want %d", len(sum.IDs), want)
	}
	for _, id := range sum.IDs {
		if n := applied[id]; n != 1 {
			t.Errorf("write %s applied %d times, want once", id, n)
		}
	}
	if len(applied) != len(sum.IDs) {
		t.Errorf("fake applied %d distinct writes, the SDK made %d: %v", len(applied), len(sum.IDs), applied)
	}

	// The story really happened: the revocation was hit, the injected 429s
	// were answered to the proxy (which waited them out), and it was the
	// SDK that called.
	var rejected, rateLimited int
	for _, r := range fake.Requests() {
		switch {
		case r.Outcome == fakenotion.OutcomeInvalidToken:
			rejected++
		case r.Outcome == fakenotion.OutcomeInjected && r.Status == 429:
			rateLimited++
		}
		if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, sdkUserAgent) {
			t.Errorf("%s %s came with User-Agent %q, not the SDK's %s", r.Method, r.Path, ua, sdkUserAgent)
		}
	}
	if rejected == 0 {
		t.Error("the fake never rejected token A: the revocation was not exercised")
	}
	if rateLimited != 3 {
		t.Errorf("the fake answered %d injected 429s, want 3", rateLimited)
	}
	p.stop()
	secretsIn(t, p, tokA, tokB)
}

// servedCalls counts the fake's successful answers.
func servedCalls(fake *fakenotion.Server) int {
	n := 0
	for _, r := range fake.Requests() {
		if r.Outcome == fakenotion.OutcomeOK {
			n++
		}
	}
	return n
}

// lookTool finds a program the SDK tests need on PATH, or fails the test
// saying what is missing.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found on PATH (%v): the SDK tests run the official Notion SDK under Node.js 20+ "+
			"with npm; install Node.js (the CI machine has it, and .ci/run stops with an error without it)", name, err)
	}
	return path
}

// ensureNodeModules installs js/node_modules with `npm ci` unless it already
// holds exactly the versions of js/package-lock.json, so a plain `go test
// ./...` works on a fresh machine with Go and Node.
func ensureNodeModules(t *testing.T) {
	t.Helper()
	if nodeModulesMatchLock(sdkDir) {
		return
	}
	npm := lookTool(t, "npm")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = sdkDir
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("npm ci in integration_test/%s: %v\n%s", sdkDir, err, out)
	}
	t.Logf("npm ci in integration_test/%s took %v", sdkDir, time.Since(start).Round(time.Millisecond))
	if !nodeModulesMatchLock(sdkDir) {
		t.Fatalf("npm ci in integration_test/%s did not install what package-lock.json pins", sdkDir)
	}
}

// nodeModulesMatchLock reports whether dir/node_modules holds every package
// of dir/package-lock.json at its locked version, by npm's own record of
// the tree (node_modules/.package-lock.json).
func nodeModulesMatchLock(dir string) bool {
	want, err := lockedVersions(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return false
	}
	have, err := lockedVersions(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if err != nil {
		return false
	}
	for name, version := range want {
		if name != "" && have[name] != version {
			return false
		}
	}
	return true
}

// lockedVersions reads the package path → version map of an npm lock file.
func lockedVersions(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return nil, err
	}
	if len(lock.Packages) == 0 {
		return nil, errors.New(path + ": no packages")
	}
	out := make(map[string]string, len(lock.Packages))
	for name, p := range lock.Packages {
		out[name] = p.Version
	}
	return out, nil
}

// lockedBuffer is a bytes.Buffer safe to read while a process writes it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
