package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/notion-proxy/notion-proxy/internal/atomicfile"
	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
)

// TestChurn runs 200 concurrent callers while the token is revoked and
// rewritten 20 times and the config is rewritten with other changes 100
// times (pause.timeout among them, which waiting calls must follow). No call may fail, every write must be applied exactly once, and
// nothing may be left running at the end. It runs the server in-process so
// that goroutines can be counted.
func TestChurn(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	fake, err := fakenotion.Start("churn-token-00-xxxxxxxxxxxxxxxx")
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	fake.SetDelay(2 * time.Millisecond)
	dir := t.TempDir()
	if err := fake.WriteCA(filepath.Join(dir, "fake-ca.pem")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "notion-proxy.yaml")
	write := func(tok string, n int) {
		// pause.timeout alternates, so that every rewrite makes the calls
		// waiting for a token measure their wait again.
		cfg := fmt.Sprintf("listen: 127.0.0.1:0\nupstream: %s\nupstream_ca: fake-ca.pem\ntoken: %s\n"+
			"pause: {max_queued: %d, timeout: %dm}\n# rewrite %d\n", fake.URL(), tok, 10000+n, 10+n%2, n)
		if err := atomicfile.Write(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("churn-token-00-xxxxxxxxxxxxxxxx", 0)
	srv := newServerAt(t, path, Options{Logger: zerolog.New(testLogWriter{t}).Level(zerolog.WarnLevel)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	watchDone, err := srv.Watch(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

	var (
		stop            atomic.Bool
		wg              sync.WaitGroup
		calls, failures atomic.Int64
		mu              sync.Mutex
		writes          []string
	)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(worker int) {
			defer wg.Done()
			for n := 0; !stop.Load(); n++ {
				id := fmt.Sprintf("w%d-%d", worker, n)
				method, path, body := "GET", "/v1/users/me", []byte(nil)
				switch n % 3 {
				case 1:
					method, path = "POST", "/v1/pages"
					body = []byte(`{"parent":{"page_id":"59833787-2cf9-4fdf-8782-e53db20768a5"},"properties":{}}`)
				case 2:
					method, path, body = "PATCH", "/v1/pages/59833787-2cf9-4fdf-8782-e53db20768a5", []byte(`{"archived":false}`)
				}
				req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
				req.Header.Set("X-Test-Call-Id", id)
				resp, err := client.Do(req)
				calls.Add(1)
				if err != nil {
					failures.Add(1)
					t.Errorf("%s %s: %v", method, path, err)
					return
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failures.Add(1)
					t.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
					return
				}
				if method != "GET" {
					mu.Lock()
					writes = append(writes, id)
					mu.Unlock()
				}
			}
		}(i)
	}

	// 20 revocations with a new token each, interleaved with 100 unrelated
	// rewrites: 120 writes of the file in all.
	deadline := time.Now().Add(20 * time.Second)
	tok := "churn-token-00-xxxxxxxxxxxxxxxx"
	for step, rev := 1, 0; step <= 120 && time.Now().Before(deadline); step++ {
		if step%6 == 0 {
			rev++
			fake.Revoke(tok)
			tok = fmt.Sprintf("churn-token-%02d-xxxxxxxxxxxxxxxx", rev)
			fake.AddToken(tok)
			time.Sleep(20 * time.Millisecond) // let some calls hit the revoked token
		}
		write(tok, step)
		time.Sleep(15 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	if failures.Load() != 0 {
		t.Fatalf("%d of %d calls failed", failures.Load(), calls.Load())
	}
	applied := fake.Applied()
	for _, id := range writes {
		if applied[id] != 1 {
			t.Errorf("write %s applied %d times", id, applied[id])
		}
	}
	if len(applied) != len(writes) {
		t.Errorf("fake applied %d writes, callers saw %d succeed", len(applied), len(writes))
	}
	t.Logf("%d calls, %d writes, all applied once", calls.Load(), len(writes))

	client.CloseIdleConnections()
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if err := <-serveDone; err != nil {
		t.Fatal(err)
	}
	cancel()
	<-watchDone
	fake.Close()
	_ = os.Remove(path)
}

// testLogWriter sends log lines to t.Log.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimSpace(p)))
	return len(p), nil
}
