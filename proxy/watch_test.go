package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/notion-proxy/notion-proxy/internal/atomicfile"
	"github.com/notion-proxy/notion-proxy/internal/testwait"
	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/proxy/filewatch"
	"github.com/notion-proxy/notion-proxy/proxy/localca"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// logLines is a concurrency-safe sink of JSON log lines.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// with returns the lines whose message contains substr.
func (l *logLines) with(substr string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(l.buf.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && strings.Contains(m["message"].(string), substr) {
			out = append(out, m)
		}
	}
	return out
}

// startWatched builds a Server on the config at path, watching it, with
// the coalescing window set to window; it is stopped when t ends.
func startWatched(t *testing.T, path string, window time.Duration, opts Options) *Server {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ca, _, err := localca.LoadOrCreate(t.TempDir(), []string{rewrite.NotionHost})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, ca, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.reloads.watchWindow = window
	ctx, cancel := context.WithCancel(context.Background())
	done, err := srv.Watch(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		<-done
		sctx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		_ = srv.Shutdown(sctx)
	})
	return srv
}

// waitToken waits until the first profile's token is tok.
func waitToken(t *testing.T, srv *Server, tok string) {
	t.Helper()
	testwait.Until(t, 10*time.Second, "token "+rewrite.Fingerprint(tok), func() bool {
		return srv.profiles.all()[0].gate.Status().Token == tok
	})
}

const (
	watchTokA = "ntn_watch_token_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	watchTokB = "ntn_watch_token_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
)

// A file renamed into place is whole: it is read at once, not after the
// coalescing window (here an hour, so only the at-once path can pass).
func TestAtomicReplaceIsReadWithoutTheWindow(t *testing.T) {
	t.Run("the config", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "notion-proxy.yaml")
		if err := os.WriteFile(path, []byte("token: "+watchTokA+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		srv := startWatched(t, path, time.Hour, Options{})
		if err := atomicfile.Write(path, []byte("token: "+watchTokB+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		waitToken(t, srv, watchTokB)
	})
	t.Run("a token_file", func(t *testing.T) {
		dir := t.TempDir()
		secret := filepath.Join(dir, "secrets", "notion")
		if err := os.Mkdir(filepath.Dir(secret), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(secret, []byte(watchTokA), 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "notion-proxy.yaml")
		if err := os.WriteFile(path, []byte("token_file: secrets/notion\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		srv := startWatched(t, path, time.Hour, Options{})
		if err := atomicfile.Write(secret, []byte(watchTokB+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		waitToken(t, srv, watchTokB)
	})
}

// A config read that fails while the file is there (here EISDIR: the
// config is a symlink into a directory nobody watches, whose target is
// briefly a directory) is retried with back-off: the target's repair
// raises no event where the watcher looks, so only the retry can pick it
// up.
func TestFailedConfigReadIsRetried(t *testing.T) {
	dir := t.TempDir()
	elsewhere := filepath.Join(dir, "elsewhere")
	watched := filepath.Join(dir, "watched")
	for _, d := range []string{elsewhere, watched} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(elsewhere, "real.yaml")
	if err := os.WriteFile(target, []byte("token: "+watchTokA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(watched, "notion-proxy.yaml")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	logs := &logLines{}
	srv := startWatched(t, path, filewatch.Window, Options{Logger: zerolog.New(logs)})

	if err := os.Remove(target); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	// Replace the symlink by rename: an event in the watched directory.
	if err := os.Symlink(target, path+".new"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 10*time.Second, "the failed read logged", func() bool {
		return len(logs.with("config not reloaded")) > 0
	})
	if line := logs.with("config not reloaded")[0]; !strings.Contains(line["error"].(string), "is a directory") ||
		line["retry_in"] == nil {
		t.Errorf("log line %v does not say the read failed and is retried", line)
	}
	if err := os.Remove(target); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte("token: "+watchTokB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitToken(t, srv, watchTokB)
}

func TestRepeatedReloadErrorsAreLoggedOnceAMinute(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notion-proxy.yaml")
	if err := os.WriteFile(path, []byte("token: "+watchTokA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ca, _, err := localca.LoadOrCreate(t.TempDir(), []string{rewrite.NotionHost})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	logs := &logLines{}
	srv, err := New(cfg, ca, Options{Logger: zerolog.New(logs), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		_ = srv.Reload(false)
		advance(100 * time.Millisecond)
	}
	if n := len(logs.with("config not reloaded")); n != 1 {
		t.Fatalf("%d lines for 100 identical errors within 10 s, want 1", n)
	}
	advance(time.Minute)
	_ = srv.Reload(false)
	lines := logs.with("config not reloaded")
	if len(lines) != 2 || lines[1]["repeated"] != float64(99) {
		t.Fatalf("after a minute: %v, want a second line with repeated=99", lines)
	}
	if err := os.WriteFile(path, []byte("token: ["), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = srv.Reload(false)
	if n := len(logs.with("config not reloaded")); n != 3 {
		t.Fatalf("a different error was held back: %d lines, want 3", n)
	}
	if err := os.WriteFile(path, []byte("token: "+watchTokB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = srv.Reload(false)
	if err := os.WriteFile(path, []byte("token: ["), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = srv.Reload(false)
	if n := len(logs.with("config not reloaded")); n != 4 {
		t.Fatalf("the same error after a good reload was held back: %d lines, want 4", n)
	}
}

// A token_file in a directory that is not there yet is watched for: when
// the directory and the file appear, the token is used.
func TestTokenFileDirectoryThatAppearsLaterIsWatched(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notion-proxy.yaml")
	if err := os.WriteFile(path, []byte("token: "+watchTokA+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &logLines{}
	srv := startWatched(t, path, filewatch.Window, Options{Logger: zerolog.New(logs)})
	if err := atomicfile.Write(path, []byte("token_file: later/secrets/notion\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 10*time.Second, "the missing directory noticed", func() bool {
		return len(logs.with("token_file directory missing")) > 0
	})
	secret := filepath.Join(dir, "later", "secrets", "notion")
	if err := os.MkdirAll(filepath.Dir(secret), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.Write(secret, []byte(watchTokB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitToken(t, srv, watchTokB)
}
