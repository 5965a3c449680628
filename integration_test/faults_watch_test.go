package integration_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// Removing the config's directory and creating it again (a deploy that
// replaces a whole directory) must not end the watch: the log says the
// directory went and came back, and a config written into the new
// directory is used.
func TestConfigDirectoryRemovedAndRecreatedIsWatchedAgain(t *testing.T) {
	fake, fakeCA := startFake(t, tokA, tokB)
	dir := filepath.Join(t.TempDir(), "conf")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "notion-proxy.yaml")
	cfg := "listen: 127.0.0.1:0\n" + upstreamConfig(fake, fakeCA)
	if err := os.WriteFile(path, []byte(cfg+"token: "+tokA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProxyAt(t, dir, path)
	if tokenSeen(t, p, fake) != tokA {
		t.Fatal("config token not used")
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	p.waitLog("watched directory removed", 10*time.Second)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(cfg+"token: "+tokB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.waitLog("watched directory is back", 10*time.Second)
	testwait.Until(t, 10*time.Second, "the token of the config in the new directory", func() bool {
		return tokenSeen(t, p, fake) == tokB
	})
	p.stop()
	secretsIn(t, p, tokA, tokB)
}

// With the config missing and the log file in its directory, a log line
// must not wake the watcher: before, each "config not reloaded" line was
// an event that reloaded and failed again, about 20 lines a second for as
// long as the file was missing.
func TestMissingConfigWithTheLogBesideItDoesNotFlood(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	dir := t.TempDir()
	path := filepath.Join(dir, "notion-proxy.yaml")
	cfg := "listen: 127.0.0.1:0\n" + upstreamConfig(fake, fakeCA) + "token: " + tokA + "\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "notion-proxy.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd, exited := startWithStderr(t, path, logFile)
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("notion-proxy: %v", err)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("notion-proxy did not stop within 20s of SIGINT")
		}
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			t.Logf("notion-proxy log:\n%s", data)
		}
	}()
	logLines := func(substr string) []map[string]any {
		data, _ := os.ReadFile(logPath)
		var out []map[string]any
		for _, line := range strings.Split(string(data), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && strings.Contains(fmt.Sprint(m["message"]), substr) {
				out = append(out, m)
			}
		}
		return out
	}
	var addr string
	testwait.Until(t, 20*time.Second, "the listening line", func() bool {
		if l := logLines("listening"); len(l) > 0 {
			addr, _ = l[0]["addr"].(string)
		}
		return addr != ""
	})
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 10*time.Second, "the missing config in the log", func() bool {
		return len(logLines("config not reloaded")) > 0
	})
	// For a second, calls keep writing to the log file beside the config.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		resp, err := client.Get("http://" + addr + "/v1/users/me")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d with the config missing: the last good config must keep serving", resp.StatusCode)
		}
	}
	if n := len(logLines("config not reloaded")); n != 1 {
		t.Errorf("%d 'config not reloaded' lines in a second, want 1", n)
	}
	writeAtomic(t, path, []byte(cfg))
	testwait.Until(t, 10*time.Second, "the config back", func() bool { return len(logLines("config reloaded")) > 0 })
}

// Waiting calls hold descriptors: with enough of them the process is out
// (EMFILE), while they wait for a token that is in the config. The config
// must still be read (with the descriptor kept in reserve for it; a read
// that fails anyway is retried with back-off), and the listener must
// accept again as calls are answered and leave.
func TestConfigIsReadWhenOutOfDescriptors(t *testing.T) {
	const limit = 64
	fake, fakeCA := startFake(t, tokA, tokB)
	dir := t.TempDir()
	path := filepath.Join(dir, "notion-proxy.yaml")
	cfg := "listen: 127.0.0.1:0\n" + upstreamConfig(fake, fakeCA) + "pause: {timeout: 5m}\n"
	if err := os.WriteFile(path, []byte(cfg+"token: "+tokA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProxyUnder(t, []string{"sh", "-c", fmt.Sprintf(`ulimit -n %d && exec "$@"`, limit), "sh"}, dir, path, nil)
	fds := func() int {
		ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.cmd.Process.Pid))
		return len(ents)
	}
	if tokenSeen(t, p, fake) != tokA {
		t.Fatal("config token not used")
	}
	if code, body, _ := do(t, p.baseClient(), "POST", p.baseURL()+"/-/revoke", nil, nil); code != 200 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	// More waiting calls than descriptors: the last ones stay in the
	// listen backlog, unaccepted.
	const calls = 2 * limit
	conns := make([]net.Conn, calls)
	for i := range conns {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := fmt.Fprintf(c, "GET /v1/users/me?call=%d HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", i); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	testwait.Until(t, 20*time.Second, "the descriptors to run out", func() bool { return fds() >= limit })
	writeAtomic(t, path, []byte(cfg+"token: "+tokB+"\n"))
	p.waitLog("config reloaded", 30*time.Second)
	// Every call is answered, those of the backlog too: accept recovered.
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		c.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("call %d: status %d", i, resp.StatusCode)
		}
	}
	withB := 0
	for _, r := range fake.Requests() {
		if r.Token == tokB {
			withB++
		}
	}
	if withB != calls {
		t.Errorf("%d calls reached Notion with the new token, want %d", withB, calls)
	}
	p.stop()
	secretsIn(t, p, tokA, tokB)
}
