package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "embed"
)

//go:embed setheader.py
var mitmAddon []byte

// env is what every subject shares: the fake Notion, its CA on disk, the
// token it accepts, the built binaries and a scratch directory.
type env struct {
	dir        string
	fakeURL    *url.URL
	fakeCAPath string
	fakeRoots  *x509.CertPool
	token      string
	proxyBin   string
	bareBin    string
	mitmdump   string // "" when not installed
	mitmWhyNot string
}

// build compiles notion-proxy (unless proxyBin names a binary to use)
// and the bare goproxy MITM into e.dir.
func (e *env) build(proxyBin string) error {
	e.proxyBin = filepath.Join(e.dir, "notion-proxy")
	e.bareBin = filepath.Join(e.dir, "bareproxy")
	builds := []struct{ out, pkg string }{
		{e.bareBin, "github.com/notion-proxy/notion-proxy/integration_test/bench/bareproxy"},
	}
	if proxyBin != "" {
		abs, err := filepath.Abs(proxyBin)
		if err != nil {
			return err
		}
		e.proxyBin = abs
	} else {
		builds = append(builds, struct{ out, pkg string }{e.proxyBin, "github.com/notion-proxy/notion-proxy/cmd/notion-proxy"})
	}
	for _, b := range builds {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", b.pkg, err)
		}
	}
	return nil
}

// notionProxy is a running notion-proxy binary.
type notionProxy struct {
	*child
	dir     string
	cfgPath string
	addr    string
	roots   *x509.CertPool // trusts its local CA
}

// proxyConfig is the benchmark's config: the fake as upstream, JSON logs
// at the default level (every call logged, as in real use).
func (e *env) proxyConfig(token string) string {
	return fmt.Sprintf(`listen: 127.0.0.1:0
upstream: %s
upstream_ca: %s
log: {level: info, format: json}
pause:
  timeout: 10m
  max_queued: 20000
token: %s
`, e.fakeURL, e.fakeCAPath, token)
}

// startNotionProxy starts the built binary on a fresh config in its own
// directory.
func (e *env) startNotionProxy(name string) (*notionProxy, error) {
	dir := filepath.Join(e.dir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &notionProxy{dir: dir, cfgPath: filepath.Join(dir, "notion-proxy.yaml")}
	c, addr, ca, err := startProxyChild(name, dir, e.proxyBin, e.proxyConfig(e.token))
	if err != nil {
		return nil, err
	}
	p.child, p.addr = c, addr
	p.roots, err = poolFrom(ca)
	if err != nil {
		c.stop()
		return nil, err
	}
	return p, nil
}

// baseURL, plainForward and httpsForward are the three ways in (docs/design.md#ways-in).
func (p *notionProxy) baseURL() target {
	return target{url: "http://" + p.addr + "/v1/users/me"}
}

func (p *notionProxy) plainForward() target {
	return target{url: "http://api.notion.com/v1/users/me", proxy: &url.URL{Scheme: "http", Host: p.addr}}
}

func (p *notionProxy) httpsForward() target {
	return target{url: "https://api.notion.com/v1/users/me", proxy: &url.URL{Scheme: "http", Host: p.addr}, roots: p.roots}
}

// status reads /-/status of the first profile.
func (p *notionProxy) status() (state string, waiting int, token string, err error) {
	resp, err := http.Get("http://" + p.addr + "/-/status")
	if err != nil {
		return "", 0, "", err
	}
	defer resp.Body.Close()
	var st struct {
		Profiles []struct {
			State   string `json:"state"`
			Waiting int    `json:"waiting"`
			Token   string `json:"token"`
		} `json:"profiles"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || len(st.Profiles) == 0 {
		return "", 0, "", fmt.Errorf("decode /-/status: %v", err)
	}
	return st.Profiles[0].State, st.Profiles[0].Waiting, st.Profiles[0].Token, nil
}

// revoke pauses the default profile (POST /-/revoke).
func (p *notionProxy) revoke() error {
	resp, err := http.Post("http://"+p.addr+"/-/revoke", "", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /-/revoke: HTTP %d", resp.StatusCode)
	}
	return nil
}

// metric reads one unlabelled sample from /metrics.
func (p *notionProxy) metric(name string) (float64, error) {
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	return 0, fmt.Errorf("no %s in /metrics", name)
}

// waitWaiting waits until /-/status shows n waiting calls.
func (p *notionProxy) waitWaiting(n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := -1
	for {
		_, w, _, err := p.status()
		if err == nil && w == n {
			return nil
		}
		if err == nil {
			last = w
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting=%d after %v, want %d (last error: %v)", last, timeout, n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// setToken writes the config with tok the way an editor or `notion-proxy
// token set` does: a temporary file renamed over the config.
func (p *notionProxy) setToken(e *env, tok string) error {
	tmp := p.cfgPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(e.proxyConfig(tok)), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p.cfgPath)
}

// bareProxy starts the bare goproxy MITM.
func (e *env) startBareProxy() (*child, target, error) {
	caPath := filepath.Join(e.dir, "bareproxy-ca.pem")
	c, err := startChild("bareproxy", filepath.Join(e.dir, "bareproxy.log"), nil, e.bareBin,
		"-upstream", e.fakeURL.Host, "-upstream-ca", e.fakeCAPath, "-token", e.token, "-ca-out", caPath)
	if err != nil {
		return nil, target{}, err
	}
	line, err := c.waitOutput("listening ", 20*time.Second)
	if err != nil {
		c.stop()
		return nil, target{}, err
	}
	roots, err := poolFrom(caPath)
	if err != nil {
		c.stop()
		return nil, target{}, err
	}
	addr := strings.TrimSpace(strings.TrimPrefix(line, "listening "))
	return c, target{url: "https://api.notion.com/v1/users/me", proxy: &url.URL{Scheme: "http", Host: addr}, roots: roots}, nil
}

// findMitmdump looks for mitmproxy's mitmdump; setup.sh installs it.
func (e *env) findMitmdump(path string) {
	if path == "" {
		path = "mitmdump"
	}
	p, err := exec.LookPath(path)
	if err != nil {
		e.mitmWhyNot = "mitmdump not installed: run integration_test/bench/setup.sh"
		return
	}
	e.mitmdump = p
}

// startMitmproxy starts mitmdump in regular (forward proxy) mode with an
// addon that points calls at the fake and sets the token.
func (e *env) startMitmproxy() (*child, target, error) {
	if e.mitmdump == "" {
		return nil, target{}, errors.New(e.mitmWhyNot)
	}
	confdir := filepath.Join(e.dir, "mitmproxy")
	if err := os.MkdirAll(confdir, 0o700); err != nil {
		return nil, target{}, err
	}
	addon := filepath.Join(e.dir, "setheader.py")
	if err := os.WriteFile(addon, mitmAddon, 0o644); err != nil {
		return nil, target{}, err
	}
	port, err := freePort()
	if err != nil {
		return nil, target{}, err
	}
	host, upPort, _ := net.SplitHostPort(e.fakeURL.Host)
	c, err := startChild("mitmdump", filepath.Join(e.dir, "mitmdump.log"),
		[]string{"BENCH_UPSTREAM_HOST=" + host, "BENCH_UPSTREAM_PORT=" + upPort, "BENCH_TOKEN=" + e.token},
		e.mitmdump, "--quiet", "--listen-host", "127.0.0.1", "--listen-port", strconv.Itoa(port),
		"--set", "confdir="+confdir,
		// api.notion.com is never resolved: the addon sends every call to
		// the fake, and mitmproxy must not look the real server up first.
		"--set", "connection_strategy=lazy",
		"--set", "upstream_cert=false",
		"--set", "ssl_verify_upstream_trusted_ca="+e.fakeCAPath,
		"--set", "flow_detail=0",
		"-s", addon)
	if err != nil {
		return nil, target{}, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitListening(context.Background(), addr, 30*time.Second); err != nil {
		c.stop()
		data, _ := os.ReadFile(c.logPath)
		return nil, target{}, fmt.Errorf("%w\n%s", err, tail(data))
	}
	roots, err := poolFrom(filepath.Join(confdir, "mitmproxy-ca-cert.pem"))
	if err != nil {
		c.stop()
		return nil, target{}, err
	}
	return c, target{url: "https://api.notion.com/v1/users/me", proxy: &url.URL{Scheme: "http", Host: addr}, roots: roots}, nil
}

func poolFrom(pemPath string) (*x509.CertPool, error) {
	data, err := os.ReadFile(pemPath)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("no certificate in %s", pemPath)
	}
	return pool, nil
}
