package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// pausedCalls is a batch of calls, each on its own connection, held by a
// paused notion-proxy.
type pausedCalls struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	done   []time.Time // completion time of every call answered 200
	failed atomic.Int64
	first  atomic.Value // first failure
}

// firePaused sends n calls through p's base-URL way in at once, each on a
// connection of its own, with body (nil: a GET).
func firePaused(p *notionProxy, n int, body []byte) *pausedCalls {
	ctx, cancel := context.WithCancel(context.Background())
	pc := &pausedCalls{cancel: cancel}
	// Each waiting call holds its connection: no limit on connections.
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: n, DisableCompression: true}
	sem := make(chan struct{}, 512) // dial in waves: the listen backlog is finite
	for range n {
		pc.wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer pc.wg.Done()
			method, url := http.MethodGet, "http://"+p.addr+"/v1/users/me"
			var req *http.Request
			if body != nil {
				method, url = http.MethodPost, "http://"+p.addr+"/v1/search"
				req, _ = http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
			} else {
				req, _ = http.NewRequestWithContext(ctx, method, url, nil)
			}
			req.Header.Set("Notion-Version", "2022-06-28")
			var once sync.Once
			release := func() { once.Do(func() { <-sem }) }
			// Once the request is out, the call waits in the proxy.
			req = req.WithContext(httptrace.WithClientTrace(req.Context(),
				&httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { release() }}))
			resp, err := tr.RoundTrip(req)
			release()
			if err == nil {
				err = drain(resp)
			}
			if err != nil {
				if pc.failed.Add(1) == 1 {
					pc.first.Store(err.Error())
				}
				return
			}
			pc.mu.Lock()
			pc.done = append(pc.done, time.Now())
			pc.mu.Unlock()
		}()
	}
	return pc
}

// firstFailure returns the first failure's message, or "".
func (pc *pausedCalls) firstFailure() string {
	s, _ := pc.first.Load().(string)
	return s
}

// resumeLatency measures, for calls paused on a revoked token, the time
// from the rename of the config holding a new token to the first replayed
// call reaching the fake, and to the last call answered.
func resumeLatency(o options, e *env, fake *fakenotion.Server) error {
	p, err := e.startNotionProxy("resume")
	if err != nil {
		return err
	}
	defer p.stop()
	if err := call(http.DefaultClient, p.baseURL().newRequest(context.Background())); err != nil {
		return fmt.Errorf("first call: %w", err)
	}
	newTok := "ntn_bench_resume_0123456789abcdefghijklmnopqrstu"
	fake.AddToken(newTok)
	if err := p.revoke(); err != nil {
		return err
	}
	pc := firePaused(p, o.resume, nil)
	defer pc.cancel()
	if err := p.waitWaiting(o.resume, 2*time.Minute); err != nil {
		return err
	}
	fake.Reset()
	cpu0, _ := procCPU(p.pid())
	t0 := time.Now()
	if err := p.setToken(e, newTok); err != nil {
		return err
	}
	pc.wg.Wait()
	cpu1, _ := procCPU(p.pid())
	var first time.Time
	sent := 0
	for _, r := range fake.Requests() {
		if r.Token == newTok {
			sent++
			if first.IsZero() || r.Time.Before(first) {
				first = r.Time
			}
		}
	}
	slices.SortFunc(pc.done, func(a, b time.Time) int { return a.Compare(b) })

	fmt.Printf("## Resume latency: %d calls paused (POST /-/revoke), then a new token renamed into the config\n\n", o.resume)
	fmt.Println("| measure | value |")
	fmt.Println("|---|--:|")
	if !first.IsZero() {
		fmt.Printf("| rename → first replayed call reaches the fake | %s |\n", ms(first.Sub(t0)))
	}
	if n := len(pc.done); n > 0 {
		fmt.Printf("| rename → half of the calls answered | %s |\n", ms(pc.done[n/2].Sub(t0)))
		fmt.Printf("| rename → last of the %d calls answered | %s |\n", o.resume, ms(pc.done[n-1].Sub(t0)))
	}
	fmt.Printf("| calls answered 200 / failed | %d / %d |\n", len(pc.done), pc.failed.Load())
	fmt.Printf("| calls the fake received with the new token | %d |\n", sent)
	fmt.Printf("| proxy CPU from rename to last answer | %s |\n", ms(cpu1-cpu0))
	fmt.Println()
	fmt.Println("The rename is seen through fsnotify and read at once (only in-place writes wait for the 50 ms window);")
	fmt.Println("the oldest call is replayed first as a probe, then the rest are released together.")
	fmt.Println()
	if f := pc.firstFailure(); f != "" {
		return fmt.Errorf("%d calls failed, first: %s", pc.failed.Load(), f)
	}
	return nil
}

// memory measures the RSS of a paused notion-proxy holding many small
// calls, then holding a few 5 MiB ones (spilled to disk).
func memory(o options, e *env, fake *fakenotion.Server) error {
	fmt.Printf("## Memory of waiting calls (base-URL mode, each call on its own connection)\n\n")
	fmt.Println("| paused calls | body | RSS idle | RSS with calls waiting | added | per call | spill files open | released: answered / failed | release time |")
	fmt.Println("|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	small := []byte(`{"query":"benchmark","filter":{"property":"object","value":"page"},"page_size":10}`)
	large := bytes.Repeat([]byte("x"), 5<<20)
	copy(large, `{"query":"`)
	copy(large[len(large)-2:], `"}`)
	var errs []error
	var checks []func()
	for _, c := range []struct {
		n    int
		body []byte
	}{{o.waiting, small}, {100, large}} {
		idle, rss, err := memoryOne(e, fake, c.n, c.body)
		if err != nil {
			fmt.Printf("| %d | %s | failed: %s | | | | | | |\n", c.n, bodySize(c.body), firstLine(err.Error()))
			errs = append(errs, err)
			continue
		}
		n := c.n
		if len(c.body) <= spillAbove {
			checks = append(checks, func() {
				check(fmt.Sprintf("%d waiting calls under 150 MiB", n), rss < 150<<20,
					fmt.Sprintf("%s (%.1f KiB per call)", mib(rss), float64(rss-idle)/float64(n)/1024))
			})
		} else {
			checks = append(checks, func() {
				check(fmt.Sprintf("%d waiting %s bodies keep RSS near idle (under 16 MiB above)", n, bodySize(c.body)),
					rss-idle < 16<<20, "+"+mib(rss-idle))
			})
		}
	}
	fmt.Println()
	fmt.Println("RSS is VmRSS of the proxy process. Idle: after one call and a settle. Bodies above 1 MiB are")
	fmt.Println("kept in unlinked temporary files (docs/design.md#a-calls-path).")
	fmt.Println()
	for _, c := range checks {
		c()
	}
	fmt.Println()
	return errors.Join(errs...)
}

// spillAbove is the body size above which notion-proxy keeps a body on disk.
const spillAbove = 1 << 20

func bodySize(b []byte) string {
	if len(b) >= 1<<20 {
		return fmt.Sprintf("%d MiB", len(b)>>20)
	}
	return fmt.Sprintf("%d B", len(b))
}

// memoryOne pauses n calls with body on a fresh proxy, prints their table
// row and returns the proxy's RSS idle and with the calls waiting.
func memoryOne(e *env, fake *fakenotion.Server, n int, body []byte) (idle, rss int64, err error) {
	p, err := e.startNotionProxy(fmt.Sprintf("memory-%d", n))
	if err != nil {
		return 0, 0, err
	}
	defer p.stop()
	if err := call(http.DefaultClient, p.baseURL().newRequest(context.Background())); err != nil {
		return 0, 0, fmt.Errorf("first call: %w", err)
	}
	time.Sleep(time.Second)
	if idle, err = procRSS(p.pid()); err != nil {
		return 0, 0, err
	}
	if err := p.revoke(); err != nil {
		return 0, 0, err
	}
	fmt.Fprintf(os.Stderr, "memory: %d paused calls of %s…\n", n, bodySize(body))
	pc := firePaused(p, n, body)
	defer pc.cancel()
	if err := p.waitWaiting(n, 3*time.Minute); err != nil {
		return 0, 0, err
	}
	time.Sleep(500 * time.Millisecond)
	if rss, err = procRSS(p.pid()); err != nil {
		return 0, 0, err
	}
	spills := countSpillFiles(p.pid())

	// Release them all with a new token: every call must be answered.
	newTok := fmt.Sprintf("ntn_bench_memory_%d_abcdefghijklmnopqrstuvwxyz", n)
	fake.AddToken(newTok)
	t0 := time.Now()
	if err := p.setToken(e, newTok); err != nil {
		return 0, 0, err
	}
	released := make(chan struct{})
	go func() { pc.wg.Wait(); close(released) }()
	select {
	case <-released:
	case <-time.After(5 * time.Minute):
		pc.cancel()
		<-released
	}
	took := time.Since(t0)
	fmt.Printf("| %d | %s | %s | %s | %s | %.1f KiB | %d | %d / %d | %s |\n",
		n, bodySize(body), mib(idle), mib(rss), mib(rss-idle), float64(rss-idle)/float64(n)/1024,
		spills, len(pc.done), pc.failed.Load(), ms(took))
	if f := pc.firstFailure(); f != "" {
		return idle, rss, fmt.Errorf("%d of %d released calls failed, first: %s", pc.failed.Load(), n, f)
	}
	return idle, rss, nil
}

// countSpillFiles counts the open, unlinked body spill files of pid.
func countSpillFiles(pid int) int {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return -1
	}
	n := 0
	for _, en := range entries {
		if link, err := os.Readlink(filepath.Join(dir, en.Name())); err == nil && strings.Contains(link, "notion-proxy-body") {
			n++
		}
	}
	return n
}

// reloadCost rewrites the config many times in a burst (temporary file +
// rename each time), the last write holding the one token that must be in
// use afterwards.
func reloadCost(o options, e *env, fake *fakenotion.Server) error {
	p, err := e.startNotionProxy("reload")
	if err != nil {
		return err
	}
	defer p.stop()
	final := "ntn_bench_final_0123456789abcdefghijklmnopqrstuv"
	fake.AddToken(final)
	reloads0, err := p.metric("notion_proxy_reloads_total")
	if err != nil {
		return err
	}
	cpu0, _ := procCPU(p.pid())
	t0 := time.Now()
	for i := range o.reloads {
		tok := fmt.Sprintf("ntn_bench_burst_%04d_abcdefghijklmnopqrstuvwxyz", i)
		if i == o.reloads-1 {
			tok = final
		}
		if err := p.setToken(e, tok); err != nil {
			return err
		}
	}
	burst := time.Since(t0)
	want := rewrite.Fingerprint(final)
	deadline := time.Now().Add(30 * time.Second)
	var seen time.Duration
	for {
		_, _, tok, err := p.status()
		if err == nil && tok == want {
			seen = time.Since(t0) - burst
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("final token not in use 30s after the burst (status shows %s)", tok)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let any late reload land, to count it
	cpu1, _ := procCPU(p.pid())
	reloads1, err := p.metric("notion_proxy_reloads_total")
	if err != nil {
		return err
	}
	fake.Reset()
	if err := call(http.DefaultClient, p.baseURL().newRequest(context.Background())); err != nil {
		return fmt.Errorf("call after the burst: %w", err)
	}
	used := "none"
	if reqs := fake.Requests(); len(reqs) > 0 {
		used = "another token"
		if reqs[len(reqs)-1].Token == final {
			used = "the final token"
		}
	}
	fmt.Printf("## Reload cost: the config rewritten %d times in a burst (temporary file + rename)\n\n", o.reloads)
	fmt.Println("| measure | value |")
	fmt.Println("|---|--:|")
	fmt.Printf("| burst of %d writes took | %s |\n", o.reloads, ms(burst))
	fmt.Printf("| reloads applied (notion_proxy_reloads_total) | %.0f |\n", reloads1-reloads0)
	fmt.Printf("| final token in use, after the last write | %s |\n", ms(seen))
	fmt.Printf("| next call used | %s |\n", used)
	fmt.Printf("| proxy CPU for the burst | %s |\n", ms(cpu1-cpu0))
	fmt.Println()
	if used != "the final token" {
		return fmt.Errorf("the call after the burst used %s", used)
	}
	return nil
}
