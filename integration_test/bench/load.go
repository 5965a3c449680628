package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// target is how the load generator reaches one subject: the URL it asks
// for, the proxy it goes through (nil: none) and the CA it trusts for TLS.
type target struct {
	url    string
	proxy  *url.URL
	roots  *x509.CertPool
	header http.Header // added to every call
	// resume: the client keeps TLS sessions and resumes them on its next
	// connection, as Node's https agent does.
	resume bool
}

// newClient returns a client for t. With keepAlive false every call opens
// a new connection (and, through an HTTPS proxy, a new CONNECT and TLS
// handshake).
func (t target) newClient(keepAlive bool, conns int) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		TLSClientConfig:     &tls.Config{RootCAs: t.roots, MinVersion: tls.VersionTLS12},
		DisableKeepAlives:   !keepAlive,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	if t.proxy != nil {
		tr.Proxy = http.ProxyURL(t.proxy)
	}
	if t.resume {
		tr.TLSClientConfig.ClientSessionCache = tls.NewLRUClientSessionCache(64)
	}
	return &http.Client{Transport: tr, Timeout: time.Minute}
}

// newRequest returns one benchmark call: a read of the bot user, the way
// an SDK sends it.
func (t target) newRequest(ctx context.Context) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
	req.Header.Set("Notion-Version", "2022-06-28")
	req.Header.Set("Accept", "application/json")
	for k, v := range t.header {
		req.Header[k] = v
	}
	return req
}

// loadResult is what one timed run measured.
type loadResult struct {
	calls    int
	errors   int
	resumed  int // calls whose TLS session was resumed
	firstErr string
	window   time.Duration
	p50, p99 time.Duration
	subject  time.Duration // CPU of the process under test in the window (0: none)
	self     time.Duration // CPU of this process (callers and fake Notion) in the window
}

func (r loadResult) rate() float64 { return float64(r.calls) / r.window.Seconds() }

// cpuPerCall returns the CPU per call of the subject and of everything
// (subject plus callers plus fake).
func (r loadResult) cpuPerCall() (subject, total time.Duration) {
	if r.calls == 0 {
		return 0, 0
	}
	return r.subject / time.Duration(r.calls), (r.subject + r.self) / time.Duration(r.calls)
}

// runLoad runs conc callers against t for warmup (not counted), then
// for dur (counted). With rate > 0 the callers together start rate calls
// per second, evenly spread; else each starts its next call as soon as the
// last one is answered. pid is the process under test (0: none) whose CPU
// is read before and after the counted part.
func runLoad(t target, keepAlive bool, conc int, rate float64, warmup, dur time.Duration, pid int) (loadResult, error) {
	client := t.newClient(keepAlive, 2*conc)
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// phase: 0 warm-up, 1 counted, 2 over.
	var phase atomic.Int32
	var errCount, resumed atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	for i := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1<<16)
			var every time.Duration
			next := time.Now()
			if rate > 0 {
				every = time.Duration(float64(conc) / rate * float64(time.Second))
				next = next.Add(every * time.Duration(i) / time.Duration(conc))
			}
			for {
				if every > 0 {
					if d := time.Until(next); d > 0 {
						time.Sleep(d)
					} else if -d > every {
						next = time.Now() // fell behind: no catch-up burst
					}
					next = next.Add(every)
				}
				p := phase.Load()
				if p == 2 {
					break
				}
				start := time.Now()
				didResume, err := callTLS(client, t.newRequest(ctx))
				d := time.Since(start)
				if phase.Load() != 1 || p != 1 {
					continue // started or ended outside the counted part
				}
				if err != nil {
					errCount.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				if didResume {
					resumed.Add(1)
				}
				mine = append(mine, d)
			}
			lat[i] = mine
		}()
	}
	time.Sleep(warmup)
	cpu0, err := subjectCPU(pid)
	if err != nil {
		phase.Store(2)
		wg.Wait()
		return loadResult{}, err
	}
	self0, t0 := selfCPU(), time.Now()
	phase.Store(1)
	time.Sleep(dur)
	phase.Store(2)
	window := time.Since(t0)
	cpu1, _ := subjectCPU(pid)
	self1 := selfCPU()
	cancel()
	wg.Wait()

	all := slices.Concat(lat...)
	slices.Sort(all)
	r := loadResult{calls: len(all), errors: int(errCount.Load()), resumed: int(resumed.Load()), window: window,
		subject: cpu1 - cpu0, self: self1 - self0}
	if s, ok := firstErr.Load().(string); ok {
		r.firstErr = s
	}
	if len(all) > 0 {
		r.p50 = all[len(all)/2]
		r.p99 = all[len(all)*99/100]
	}
	return r, nil
}

func subjectCPU(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, nil
	}
	return procCPU(pid)
}

// call makes one call and reads its answer whole; anything but 200 is an
// error.
func call(client *http.Client, req *http.Request) error {
	_, err := callTLS(client, req)
	return err
}

// callTLS is call that also reports whether the call's TLS session (to
// the fake, or through a proxy's tunnel) was a resumed one.
func callTLS(client *http.Client, req *http.Request) (resumed bool, err error) {
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.TLS != nil && resp.TLS.DidResume, nil
}
