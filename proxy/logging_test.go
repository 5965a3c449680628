package proxy

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// blockingWriter records writes; its first write waits for release.
type blockingWriter struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once

	mu     sync.Mutex
	writes [][]byte
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	first := false
	w.once.Do(func() { first = true })
	if first {
		close(w.entered)
		<-w.release
	}
	w.mu.Lock()
	w.writes = append(w.writes, bytes.Clone(p))
	w.mu.Unlock()
	return len(p), nil
}

func (w *blockingWriter) all() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(bytes.Join(w.writes, nil))
}

func TestBatchWriter(t *testing.T) {
	t.Run("lines written while the writer is busy go out in one write", func(t *testing.T) {
		w := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
		b := NewBatchWriter(w)
		fmt.Fprintf(b, "line 0\n")
		<-w.entered // the background write of line 0 is under way
		for i := 1; i < 100; i++ {
			fmt.Fprintf(b, "line %d\n", i) // does not wait for the busy writer
		}
		close(w.release)
		b.Close()
		if len(w.writes) != 2 {
			t.Errorf("%d writes, want 2 (line 0, then the 99 queued behind it)", len(w.writes))
		}
		var want strings.Builder
		for i := range 100 {
			fmt.Fprintf(&want, "line %d\n", i)
		}
		if got := w.all(); got != want.String() {
			t.Errorf("lines out of order or lost:\n%s", got)
		}
	})
	t.Run("concurrent writers: every line arrives whole, each writer's in order", func(t *testing.T) {
		var out bytes.Buffer
		b := NewBatchWriter(&out)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 500 {
					fmt.Fprintf(b, "g%d %04d %s\n", g, i, strings.Repeat("x", 100))
				}
			})
		}
		wg.Wait()
		b.Close()
		next := map[string]int{}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		for _, l := range lines {
			var g string
			var i int
			if _, err := fmt.Sscanf(l, "%s %d", &g, &i); err != nil || len(l) != len(g)+6+100 {
				t.Fatalf("mangled line %q", l)
			}
			if i != next[g] {
				t.Fatalf("%s: line %d after %d", g, i, next[g]-1)
			}
			next[g]++
		}
		if len(lines) != 8*500 {
			t.Errorf("%d lines, want %d", len(lines), 8*500)
		}
	})
	t.Run("a write over the bound waits for the writer instead of growing", func(t *testing.T) {
		w := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
		b := NewBatchWriter(w)
		b.Write([]byte("first\n"))
		<-w.entered
		big := bytes.Repeat([]byte("y"), maxBatchPending)
		b.Write(big) // fills the queue to the bound
		wrote := make(chan struct{})
		go func() {
			b.Write([]byte("more\n"))
			close(wrote)
		}()
		select {
		case <-wrote:
			t.Fatal("a write past the bound did not wait")
		case <-time.After(50 * time.Millisecond):
		}
		close(w.release)
		<-wrote
		b.Close()
		if got := w.all(); got != "first\n"+string(big)+"more\n" {
			t.Errorf("got %d bytes, want %d", len(got), len("first\n")+len(big)+len("more\n"))
		}
	})
	t.Run("after Close, writes go straight through", func(t *testing.T) {
		var out bytes.Buffer
		b := NewBatchWriter(&out)
		b.Write([]byte("before\n"))
		b.Close()
		b.Write([]byte("after\n"))
		if out.String() != "before\nafter\n" {
			t.Errorf("got %q", out.String())
		}
	})
}
