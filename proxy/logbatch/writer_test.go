package logbatch

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

func TestWriter(t *testing.T) {
	t.Run("lines written while the writer is busy go out in one write", func(t *testing.T) {
		w := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
		b := New(w)
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
		b := New(&out)
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
	t.Run("past the bound, lines are dropped and counted, never waited for; the recovery is told once", func(t *testing.T) {
		w := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
		b := New(w)
		var mu sync.Mutex
		var reports []uint64
		b.OnRecover(func(n uint64) {
			mu.Lock()
			reports = append(reports, n)
			mu.Unlock()
			fmt.Fprintf(b, "%d dropped\n", n)
		})
		b.Write([]byte("first\n"))
		<-w.entered // the writer is stalled on "first"
		big := bytes.Repeat([]byte("y"), maxBatchPending-1)
		b.Write(append(big, '\n')) // fills the queue to the bound
		for range 3 {
			b.Write([]byte("more\n")) // returns at once: dropped
		}
		if b.Dropped() != 3 {
			t.Errorf("Dropped() = %d, want 3", b.Dropped())
		}
		if b.StalledFor(time.Now().Add(time.Hour)) < time.Hour {
			t.Error("StalledFor does not see the write under way")
		}
		close(w.release)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if got, want := w.all(), "first\n"+string(big)+"\n3 dropped\n"; got != want {
			t.Errorf("got %d bytes ending %q, want %d", len(got), got[max(len(got)-20, 0):], len(want))
		}
		if len(reports) != 1 || reports[0] != 3 {
			t.Errorf("recovery reports %v, want [3]", reports)
		}
		if b.StalledFor(time.Now()) != 0 {
			t.Error("StalledFor reports a write when none is under way")
		}
	})
	t.Run("Close gives up on a stalled writer; later writes still do not wait", func(t *testing.T) {
		w := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
		b := New(w)
		b.closeWait = time.Millisecond
		b.Write([]byte("stuck\n"))
		<-w.entered
		if err := b.Close(); err == nil {
			t.Error("Close returned nil with the writer stalled")
		}
		b.Write([]byte("after\n")) // queued behind the stalled write, not waited for
		close(w.release)
		<-b.done
		if got := w.all(); got != "stuck\nafter\n" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("after Close, writes go straight through", func(t *testing.T) {
		var out bytes.Buffer
		b := New(&out)
		b.Write([]byte("before\n"))
		b.Close()
		b.Write([]byte("after\n"))
		if out.String() != "before\nafter\n" {
			t.Errorf("got %q", out.String())
		}
	})
}

// fakeLogHealth is a LogWriterHealth with fixed answers.
