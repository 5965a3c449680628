// Package integration_test drives the real notion-proxy binary through real
// sockets on loopback: a fake Notion over TLS upstream, real clients (Go's
// http.Client in all three modes, curl) in front.
package integration_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
)

// binary is the notion-proxy binary built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "notion-proxy-it-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "notion-proxy")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "../cmd/notion-proxy")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build notion-proxy:", err)
		os.Exit(1)
	}
	code := m.Run()
	if code == 0 {
		if leaks := audit.check(flagRunAll()); leaks != "" {
			fmt.Fprintln(os.Stderr, "secret audit failed:\n"+leaks)
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one running notion-proxy process.
type proc struct {
	t       *testing.T
	cmd     *exec.Cmd
	dir     string
	cfgPath string
	addr    string // host:port it listens on
	caPath  string

	mu    sync.Mutex
	lines []string // every stderr line
	logs  []map[string]any
	seen  chan struct{} // signalled on each new line
	done  chan struct{} // closed when the process exits
}

// startProxy writes cfg (YAML) as the config in a fresh directory and starts
// the binary on it. "LISTEN" in cfg is not needed: listen defaults are
// replaced by 127.0.0.1:0 unless cfg sets listen itself.
func startProxy(t *testing.T, cfg string, extraArgs ...string) *proc {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "notion-proxy.yaml")
	if cfg != "" {
		if !strings.Contains(cfg, "listen:") {
			cfg = "listen: 127.0.0.1:0\n" + cfg
		}
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return startProxyAt(t, dir, path, extraArgs...)
}

func startProxyAt(t *testing.T, dir, path string, extraArgs ...string) *proc {
	t.Helper()
	return startProxyEnv(t, dir, path, nil, extraArgs...)
}

// startProxyEnv starts the binary on the config at path with env added to
// the test's environment.
func startProxyEnv(t *testing.T, dir, path string, env []string, extraArgs ...string) *proc {
	t.Helper()
	return startProxyCmd(t, nil, dir, path, env, append([]string{"run", "--config", path}, extraArgs...))
}

// startProxyArgs starts the binary with exactly args, serving the config
// at path.
func startProxyArgs(t *testing.T, dir, path string, args []string) *proc {
	t.Helper()
	return startProxyCmd(t, nil, dir, path, nil, args)
}

// startProxyUnder is startProxyEnv with the binary's command line appended
// to wrapper (nil: none), e.g. a shell that lowers a limit and execs it.
func startProxyUnder(t *testing.T, wrapper []string, dir, path string, env []string, extraArgs ...string) *proc {
	t.Helper()
	return startProxyCmd(t, wrapper, dir, path, env, append([]string{"run", "--config", path}, extraArgs...))
}

// startProxyCmd runs wrapper (may be nil) followed by the binary and args,
// serving the config at path.
func startProxyCmd(t *testing.T, wrapper []string, dir, path string, env, args []string) *proc {
	t.Helper()
	p := &proc{t: t, dir: dir, cfgPath: path, seen: make(chan struct{}, 1), done: make(chan struct{})}
	argv := append(append(append([]string(nil), wrapper...), binary), args...)
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(append(os.Environ(), "HTTPS_PROXY=", "HTTP_PROXY=", "NO_PROXY="), env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.readLogs(stderr)
	audit.addProc(p)
	t.Cleanup(func() { p.stop() })
	line := p.waitLog("listening", 20*time.Second)
	p.addr, _ = line["addr"].(string)
	p.caPath, _ = line["ca"].(string)
	if p.addr == "" {
		t.Fatalf("no listen address in %v", line)
	}
	return p
}

func (p *proc) readLogs(r io.Reader) {
	defer close(p.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.lines = append(p.lines, line)
		if strings.HasPrefix(line, "{") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil {
				p.logs = append(p.logs, m)
			}
		}
		p.mu.Unlock()
		select {
		case p.seen <- struct{}{}:
		default:
		}
	}
	_ = p.cmd.Wait()
}

// stop sends SIGTERM and waits for the exit; it fails the test if the
// process does not exit 0 in time.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			p.t.Errorf("notion-proxy exited %d after SIGINT, want 0", code)
		}
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Errorf("notion-proxy did not stop within 20s of SIGINT")
	}
	if p.t.Failed() || os.Getenv("NOTION_PROXY_IT_LOGS") != "" {
		p.t.Logf("notion-proxy log:\n%s", strings.Join(p.allLines(), "\n"))
	}
}

func (p *proc) allLines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// logsWith returns the JSON log lines whose msg contains substr.
func (p *proc) logsWith(substr string) []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]any
	for _, l := range p.logs {
		if msg, _ := l["message"].(string); strings.Contains(msg, substr) {
			out = append(out, l)
		}
	}
	return out
}

// waitLog waits for a JSON log line whose message contains substr.
func (p *proc) waitLog(substr string, timeout time.Duration) map[string]any {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		if l := p.logsWith(substr); len(l) > 0 {
			return l[len(l)-1]
		}
		select {
		case <-p.seen:
		case <-p.done:
			if l := p.logsWith(substr); len(l) > 0 {
				return l[len(l)-1]
			}
			p.t.Fatalf("notion-proxy exited before logging %q:\n%s", substr, strings.Join(p.allLines(), "\n"))
		case <-deadline:
			p.t.Fatalf("no log line %q within %v:\n%s", substr, timeout, strings.Join(p.allLines(), "\n"))
		}
	}
}

// countLogs counts JSON log lines whose message contains substr.
func (p *proc) countLogs(substr string) int { return len(p.logsWith(substr)) }

func (p *proc) baseURL() string { return "http://" + p.addr }

// baseClient talks to the proxy in base-URL mode.
func (p *proc) baseClient() *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{Proxy: nil}}
}

// httpsProxyClient uses the proxy as an HTTPS forward proxy, trusting its CA.
func (p *proc) httpsProxyClient() *http.Client {
	p.t.Helper()
	pem, err := os.ReadFile(p.caPath)
	if err != nil {
		p.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		p.t.Fatal("proxy CA is not PEM")
	}
	u, _ := url.Parse(p.baseURL())
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		Proxy:           http.ProxyURL(u),
		TLSClientConfig: &tls.Config{RootCAs: pool},
	}}
}

// httpProxyClient uses the proxy as a plain-HTTP forward proxy.
func (p *proc) httpProxyClient() *http.Client {
	u, _ := url.Parse(p.baseURL())
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(u)}}
}

// mode is one of the three ways in.
type mode struct {
	name   string
	client func(p *proc) *http.Client
	url    func(p *proc, path string) string
}

var modes = []mode{
	{"base URL", (*proc).baseClient, func(p *proc, path string) string { return p.baseURL() + path }},
	{"HTTPS forward proxy", (*proc).httpsProxyClient, func(_ *proc, path string) string { return "https://api.notion.com" + path }},
	{"plain HTTP forward proxy", (*proc).httpProxyClient, func(_ *proc, path string) string { return "http://api.notion.com" + path }},
}

// do sends one request and returns status and body.
func do(t *testing.T, c *http.Client, method, u string, body []byte, hdr map[string]string) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, u, err)
	}
	return resp.StatusCode, data, resp.Header
}

// startFake starts a fake Notion accepting tokens and writes its CA to dir.
func startFake(t *testing.T, tokens ...string) (*fakenotion.Server, string) {
	t.Helper()
	fake, err := fakenotion.Start(tokens...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		audit.addFake(fake)
		fake.Close()
	})
	caPath := filepath.Join(t.TempDir(), "fake-ca.pem")
	if err := fake.WriteCA(caPath); err != nil {
		t.Fatal(err)
	}
	return fake, caPath
}

// upstreamConfig is the config fragment pointing the proxy at the fake.
func upstreamConfig(fake *fakenotion.Server, caPath string) string {
	return fmt.Sprintf("upstream: %s\nupstream_ca: %s\n", fake.URL(), caPath)
}

// writeAtomic writes data the way editors save: a temporary file in the same
// directory, then a rename over the target.
func writeAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".swp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// status fetches /-/status.
func (p *proc) status(t *testing.T) statusBody {
	t.Helper()
	code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/-/status", nil, nil)
	if code != 200 {
		t.Fatalf("/-/status: %d %s", code, body)
	}
	var st statusBody
	audit.addText(string(body))
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("/-/status: %v: %s", err, body)
	}
	return st
}

type statusBody struct {
	LastReloadError string `json:"last_reload_error"`
	Shared          *struct {
		State     string `json:"state"`
		LastError string `json:"last_error"`
	} `json:"shared"`
	Profiles []struct {
		Name            string  `json:"name"`
		State           string  `json:"state"`
		Token           string  `json:"token"`
		Waiting         int     `json:"waiting"`
		PausedSince     *string `json:"paused_since"`
		LastReloadError string  `json:"last_reload_error"`
	} `json:"profiles"`
}

// getConcurrently sends n GET /v1/users/me at once in base-URL mode and
// fails the test for any answer but 200.
func getConcurrently(t *testing.T, p *proc, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil); code != 200 {
				t.Errorf("status %d %s", code, body)
			}
		}()
	}
	wg.Wait()
}

// startWithStderr starts the binary serving the config at path with its
// stderr going to stderr (a pipe or a file the test reads itself, where
// startProxy would read it), and returns it with a channel that receives
// its exit, then is closed.
func startWithStderr(t *testing.T, path string, stderr *os.File) (*exec.Cmd, <-chan error) {
	t.Helper()
	cmd := exec.Command(binary, "run", "--config", path)
	cmd.Env = append(os.Environ(), "HTTPS_PROXY=", "HTTP_PROXY=", "NO_PROXY=")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() {
		exited <- cmd.Wait()
		close(exited)
	}()
	return cmd, exited
}
