package integration_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// With stderr a pipe nobody reads (or a terminal paused with Ctrl-S), calls
// must keep being answered: log lines past the writer's bound are dropped
// and counted, never waited for; /-/healthz answers (and says lines are
// lost); and when the pipe is read again, one line says how many were
// dropped.
func TestStalledStderrDoesNotStopCalls(t *testing.T) {
	fake, fakeCA := startFake(t, tokA)
	dir := t.TempDir()
	path := filepath.Join(dir, "notion-proxy.yaml")
	cfg := "listen: 127.0.0.1:0\n" + upstreamConfig(fake, fakeCA) + "token: " + tokA + "\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd, exited := startWithStderr(t, path, w)
	w.Close()
	var waitErr error
	defer func() {
		_ = cmd.Process.Kill() // if the test ended early
		<-exited               // closed by then if the test ended normally
	}()

	// Read up to the listening line, then stop receiving: the reader
	// blocks, and the pipe fills.
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 16<<10), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var addr string
	deadline := time.After(20 * time.Second)
	for addr == "" {
		select {
		case l := <-lines:
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["message"] == "listening" {
				addr, _ = m["addr"].(string)
			}
		case <-deadline:
			t.Fatal("no listening line")
		}
	}

	// Each call logs a line of about 8 KiB (its path): 400 calls are about
	// three times the pipe's buffer and the writer's bound together.
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{Proxy: nil}}
	long := "/v1/pages/" + strings.Repeat("a", 8<<10)
	for i := range 400 {
		resp, err := client.Get("http://" + addr + long + strconv.Itoa(i))
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			t.Fatalf("call %d with stderr stalled: %v", i, ue.Err) // not its 8 KiB URL
		} else if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("call %d: status %d", i, resp.StatusCode)
		}
	}
	resp, err := client.Get("http://" + addr + "/-/healthz")
	if err != nil {
		t.Fatal(err)
	}
	health, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(health), "log lines") {
		t.Errorf("/-/healthz: %d %q, want 200 naming the dropped log lines", resp.StatusCode, health)
	}
	dropped := scrapeMetric(t, client, "http://"+addr, "notion_proxy_log_lines_dropped_total")
	if dropped <= 0 {
		t.Fatalf("notion_proxy_log_lines_dropped_total = %v, want > 0", dropped)
	}

	// Read again: one line says how many were dropped.
	reported := 0.0
	deadline = time.After(20 * time.Second)
	for reported < dropped {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stderr closed; %v of %v dropped lines reported", reported, dropped)
			}
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && strings.HasPrefix(fmt.Sprint(m["message"]), "log lines dropped") {
				n, _ := m["dropped"].(float64)
				reported += n
			}
		case <-deadline:
			t.Fatalf("%v of %v dropped lines reported", reported, dropped)
		}
	}
	go func() {
		for range lines {
		}
	}()
	_ = cmd.Process.Signal(os.Interrupt)
	select {
	case waitErr = <-exited:
		if waitErr != nil {
			t.Errorf("notion-proxy: %v", waitErr)
		}
	case <-time.After(20 * time.Second):
		t.Error("notion-proxy did not stop within 20s of SIGINT")
	}
}
