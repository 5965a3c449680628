package filewatch

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/notion-proxy/notion-proxy/internal/atomicfile"
	"github.com/notion-proxy/notion-proxy/internal/testwait"
)

// logBuf is a concurrency-safe log sink.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuf) has(substr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(l.buf.String(), substr)
}

// watched is a running watch whose Reload counts.
type watched struct {
	reloads atomic.Int32
	files   atomic.Pointer[[]string]
	logs    *logBuf
}

// waitReloads waits until at least n reloads have run.
func (w *watched) waitReloads(t *testing.T, n int32, what string) {
	t.Helper()
	testwait.Until(t, 10*time.Second, what, func() bool { return w.reloads.Load() >= n })
}

// start watches the config at path (and files) with opts' other fields;
// the watch ends with t.
func start(t *testing.T, path string, files []string, opts Options) *watched {
	t.Helper()
	w := &watched{logs: &logBuf{}}
	w.files.Store(&files)
	opts.Path = path
	opts.Files = func() []string { return *w.files.Load() }
	opts.Reload = func() { w.reloads.Add(1) }
	opts.Logger = zerolog.New(w.logs)
	ctx, cancel := context.WithCancel(context.Background())
	done, err := Watch(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch ended with %v", err)
		}
	})
	return w
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A file renamed into place is read at once: with a window of an hour,
// only the at-once path can reload.
func TestRenamedIntoPlaceIsReadAtOnce(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		replace func(path, secret string) string // returns what to replace
	}{
		{"the config", func(path, _ string) string { return path }},
		{"a token_file", func(_, secret string) string { return secret }},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "notion-proxy.yaml")
			secret := filepath.Join(dir, "secrets", "notion")
			if err := os.Mkdir(filepath.Dir(secret), 0o700); err != nil {
				t.Fatal(err)
			}
			writeFile(t, path, "a")
			w := start(t, path, []string{secret}, Options{Window: time.Hour})
			if err := atomicfile.Write(tc.replace(path, secret), []byte("b"), 0o600); err != nil {
				t.Fatal(err)
			}
			w.waitReloads(t, 1, "the file renamed into place read")
		})
	}
}

// Events for other files in a watched directory are ignored: had the log
// file's write been gathered, the rename after it would wait for the
// hour's window.
func TestOtherFilesAreIgnored(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notion-proxy.yaml")
	writeFile(t, path, "a")
	w := start(t, path, nil, Options{Window: time.Hour})
	writeFile(t, filepath.Join(dir, "proxy.log"), "a line\n")
	writeFile(t, filepath.Join(dir, ".notion-proxy.yaml.swp"), "swap")
	if err := atomicfile.Write(path, []byte("b"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.waitReloads(t, 1, "the rename read at once")
}

// A burst of in-place writes is read once the window has passed.
func TestInPlaceWritesAreReadAfterTheWindow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notion-proxy.yaml")
	writeFile(t, path, "a")
	w := start(t, path, nil, Options{Window: 10 * time.Millisecond})
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"token:", " ", "ntn_x\n"} {
		if _, err := f.WriteString(part); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	w.waitReloads(t, 1, "the in-place writes read")
}

// A watched directory removed and made again is watched again, and what
// was written meanwhile is read.
func TestRemovedDirectoryIsWatchedAgain(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notion-proxy.yaml")
	writeFile(t, path, "a")
	secrets := filepath.Join(dir, "secrets")
	if err := os.Mkdir(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(secrets, "notion")
	w := start(t, path, []string{secret}, Options{Window: 10 * time.Millisecond})
	if err := os.Remove(secrets); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, 10*time.Second, "the removal noticed", func() bool {
		return w.logs.has("watched directory removed")
	})
	if err := os.Mkdir(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, secret, "tok")
	testwait.Until(t, 10*time.Second, "the directory back and read", func() bool {
		return w.logs.has("watched directory is back") && w.reloads.Load() >= 1
	})
	// Watched again: a change in it is seen.
	n := w.reloads.Load()
	if err := atomicfile.Write(secret, []byte("tok2"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.waitReloads(t, n+1, "a change in the directory watched again")
}

// A token_file directory that is not there yet is looked for, and read
// when it appears.
func TestMissingDirectoryIsWatchedForWhenItAppears(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notion-proxy.yaml")
	writeFile(t, path, "a")
	secret := filepath.Join(dir, "later", "secrets", "notion")
	w := start(t, path, []string{secret}, Options{Window: time.Hour})
	if !w.logs.has("token_file directory missing") {
		t.Error("the missing directory is not logged by the time Watch returns")
	}
	if err := os.MkdirAll(filepath.Dir(secret), 0o700); err != nil {
		t.Fatal(err)
	}
	w.waitReloads(t, 1, "the directory appeared and read")
}

// A retry noted due is run by the watcher, with no file event.
func TestDueRetryReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notion-proxy.yaml")
	writeFile(t, path, "a")
	r := NewRetry()
	w := start(t, path, nil, Options{Retry: r})
	r.Note(true)
	w.waitReloads(t, 1, "the retry")
}

// Polling reloads with no file event.
func TestPollReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notion-proxy.yaml")
	writeFile(t, path, "a")
	w := start(t, path, nil, Options{Poll: 5 * time.Millisecond})
	w.waitReloads(t, 2, "two polls")
}

// Without a watchable directory, Watch fails unless it may poll.
func TestUnwatchableDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gone", "notion-proxy.yaml")
	if _, err := Watch(context.Background(), Options{Path: path, Reload: func() {}}); err == nil ||
		!strings.Contains(err.Error(), "use --poll") {
		t.Fatalf("Watch = %v, want an error saying to poll", err)
	}
	w := start(t, path, nil, Options{Poll: 5 * time.Millisecond})
	w.waitReloads(t, 1, "a poll")
}
