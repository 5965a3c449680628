package integration_test

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

func TestMetricsParseAsPrometheusText(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n")
	fake.FailNext(1, 429, "1")
	do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil)
	do(t, p.baseClient(), "POST", p.baseURL()+"/v1/search", []byte(`{}`), nil)
	writeAtomic(t, p.cfgPath, []byte("not: [valid"))
	testwait.Until(t, 2*time.Second, "the reload error", func() bool { return p.status(t).LastReloadError != "" })

	resp, err := http.Get(p.baseURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	for name := range families {
		if !strings.HasPrefix(name, "notion_proxy_") {
			t.Errorf("family %s is not named notion_proxy_…", name)
		}
	}
	sum := func(name string, labels map[string]string) float64 {
		f, ok := families[name]
		if !ok {
			t.Errorf("no family %s", name)
			return 0
		}
		total := 0.0
	metrics:
		for _, m := range f.Metric {
			for k, v := range labels {
				if !hasLabel(m, k, v) {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				total += m.Counter.GetValue()
			case m.Gauge != nil:
				total += m.Gauge.GetValue()
			case m.Histogram != nil:
				total += float64(m.Histogram.GetSampleCount())
			}
		}
		return total
	}
	if n := sum("notion_proxy_calls_total", map[string]string{"profile": "default", "status": "200", "class": "read"}); n != 1 {
		t.Errorf("read calls with 200: %v", n)
	}
	if n := sum("notion_proxy_calls_total", map[string]string{"class": "write"}); n != 1 {
		t.Errorf("write calls: %v", n)
	}
	if n := sum("notion_proxy_retries_total", map[string]string{"reason": "rate_limited"}); n != 1 {
		t.Errorf("rate-limited retries: %v", n)
	}
	if n := sum("notion_proxy_reload_errors_total", nil); n != 1 {
		t.Errorf("reload errors: %v", n)
	}
	if n := sum("notion_proxy_upstream_latency_seconds", nil); n != 3 {
		t.Errorf("upstream sends observed: %v, want 3", n)
	}
	for _, name := range []string{"notion_proxy_waiting_calls", "notion_proxy_paused"} {
		sum(name, map[string]string{"profile": "default"})
	}
}

func hasLabel(m *dto.Metric, k, v string) bool {
	for _, l := range m.Label {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}

// TestShutdownAnswersWaitingCalls: SIGTERM with calls waiting for a token
// answers each with Notion's 401 rather than dropping it, and exits 0.
func TestShutdownAnswersWaitingCalls(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n")
	if code, _, _ := do(t, p.baseClient(), "POST", p.baseURL()+"/-/revoke?profile=default", nil, nil); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	const waiting = 3
	codes := make(chan int, waiting)
	for i := 0; i < waiting; i++ {
		go func() {
			resp, err := p.baseClient().Get(p.baseURL() + "/v1/users/me")
			if err != nil {
				codes <- -1
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	testwait.Until(t, 5*time.Second, "calls to wait", func() bool { return p.status(t).Profiles[0].Waiting == waiting })
	p.stop() // SIGINT; fails the test unless the exit code is 0
	for i := 0; i < waiting; i++ {
		if code := <-codes; code != 401 {
			t.Errorf("waiting call ended with %d, want 401", code)
		}
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("fake saw %d calls after the revocation", n)
	}
}

func TestProxyAuthIsRequiredWhenSet(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\nproxy_auth: \"alice:s3cret\"\n")
	t.Run("without credentials every way in gets 407", func(t *testing.T) {
		for _, m := range modes {
			code, _, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil, nil)
			if code != http.StatusProxyAuthRequired {
				t.Errorf("%s: %d", m.name, code)
			}
		}
		u, _ := url.Parse(p.baseURL())
		c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u)}}
		if resp, err := c.Get("http://api.notion.com/v1/users/me"); err != nil || resp.StatusCode != 407 {
			t.Errorf("plain proxy: %v %v", resp, err)
		}
		if _, err := p.httpsProxyClient().Get("https://api.notion.com/v1/users/me"); err == nil {
			t.Error("CONNECT without credentials was accepted")
		}
	})
	t.Run("with credentials it serves", func(t *testing.T) {
		u, _ := url.Parse(p.baseURL())
		u.User = url.UserPassword("alice", "s3cret")
		hc := p.httpsProxyClient()
		hc.Transport.(*http.Transport).Proxy = http.ProxyURL(u)
		if code, body, _ := do(t, hc, "GET", "https://api.notion.com/v1/users/me", nil, nil); code != 200 {
			t.Errorf("HTTPS proxy: %d %s", code, body)
		}
		pc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u)}}
		if code, body, _ := do(t, pc, "GET", "http://api.notion.com/v1/users/me", nil, nil); code != 200 {
			t.Errorf("plain proxy: %d %s", code, body)
		}
		if code, body, _ := do(t, p.baseClient(), "GET", p.baseURL()+"/v1/users/me", nil,
			map[string]string{"Proxy-Authorization": "Basic YWxpY2U6czNjcmV0"}); code != 200 {
			t.Errorf("base URL: %d %s", code, body)
		}
	})
	p.stop()
	secretsIn(t, p, tokA, "s3cret")
}

func TestNonLoopbackListenNeedsProxyAuth(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "notion-proxy.yaml")
	if err := os.WriteFile(cfg, []byte("listen: 0.0.0.0:0\ntoken: "+tokA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "--config", cfg}, {"run", "--config", cfg}} {
		out, err := exec.Command(binary, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "proxy_auth") {
			t.Errorf("%s: err %v, output %s", args[0], err, out)
		}
	}
}

func TestPollFallbackReloadsOnceAWrite(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB)
	p := startProxy(t, upstreamConfig(fake, fakeCA)+"token: "+tokA+"\n", "--poll", "100ms")
	writeAtomic(t, p.cfgPath, []byte("listen: 127.0.0.1:0\n"+upstreamConfig(fake, fakeCA)+"token: "+tokB+"\n"))
	testwait.Until(t, 2*time.Second, "the reload", func() bool { return p.countLogs("config reloaded") == 1 })
	time.Sleep(400 * time.Millisecond) // several poll ticks: none may reload again
	if n := p.countLogs("config reloaded"); n != 1 {
		t.Errorf("%d reloads for one write", n)
	}
}

func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(good, []byte("token: "+tokA+"\n"), 0o600)
	_ = os.WriteFile(bad, []byte("token: "+tokA+"\npause:\n  timeout: soon\n"), 0o600)
	if out, err := exec.Command(binary, "check", "--config", good).CombinedOutput(); err != nil {
		t.Errorf("good config: %v %s", err, out)
	}
	out, err := exec.Command(binary, "check", "--config", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "bad.yaml:3") {
		t.Errorf("bad config: err %v, output %s (want file:line)", err, out)
	}
	if strings.Contains(string(out), tokA) {
		t.Error("check printed the token")
	}
}

func TestCACommandPrintsTrustRecipes(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "notion-proxy.yaml")
	_ = os.WriteFile(cfg, []byte("token: "+tokA+"\n"), 0o600)
	out, err := exec.Command(binary, "ca", "--config", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	for _, want := range []string{filepath.Join(dir, "ca.pem"), "curl", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "keytool"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ca output lacks %q", want)
		}
	}
}
