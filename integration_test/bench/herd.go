package main

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
)

// The herd section (docs/design.md#the-rate-limit-scheduler): N callers × M calls against a fake that
// enforces a rate limit, through notion-proxy with no rate_limit (the
// scheduler learns the limit), with rate_limit set to the limit, and
// through a baseline binary (-herd-baseline, e.g. a build from before the
// scheduler), and, the anchor a user has today, with no proxy at all: the
// official JS SDK's callers straight to the fake, retrying on their own
// (herdsdk.go). Each row reports the total time against the limit's own
// time, the 429s the fake answered, and the calls that failed.

// herdLimit is one limit the fake enforces, and its own time for n calls.
type herdLimit struct {
	name     string
	limit    fakenotion.Limit
	ownTime  func(calls int) time.Duration
	rateLine string // rate_limit config matching the limit
}

// herdLimits are the two limits (a token bucket of 10/s, burst 5;
// a budget of 20 calls per 2 s window) scaled by k, so that k times the
// calls take the same time.
func herdLimits(k int) []herdLimit {
	bucket := fakenotion.Limit{Rate: float64(10 * k), Burst: 5 * k, PerToken: true, Reason: "integration_rate_limit"}
	window := fakenotion.Limit{Budget: 20 * k, Window: 2 * time.Second, PerToken: true, Reason: "integration_rate_limit"}
	return []herdLimit{
		{name: fmt.Sprintf("token bucket, %d/s, burst %d", 10*k, 5*k), limit: bucket,
			ownTime: func(n int) time.Duration {
				return time.Duration(float64(n-bucket.Burst) / bucket.Rate * float64(time.Second))
			},
			rateLine: fmt.Sprintf("rate_limit: {rps: %d, burst: %d}\n", 10*k, 5*k)},
		{name: fmt.Sprintf("budget of %d calls per 2 s window", 20*k), limit: window,
			ownTime: func(n int) time.Duration {
				windows := int(math.Ceil(float64(n)/float64(window.Budget))) - 1
				return time.Duration(windows) * window.Window
			},
			rateLine: fmt.Sprintf("rate_limit: {rps: %d, burst: 1}\n", 10*k)},
	}
}

// herdResult is one row's measurement.
type herdResult struct {
	total   time.Duration
	limited int // 429s answered by the fake
	sends   int
	failed  int
	first   string
}

func herd(o options, e *env, fake *fakenotion.Server) error {
	calls := o.herdCallers * o.herdCalls
	fmt.Printf("## Herd: %d callers × %d calls against a rate-limited fake\n\n", o.herdCallers, o.herdCalls)
	fmt.Printf("Every caller sends GET /v1/users/me in base-URL mode, its next call as soon as the last is answered; retry.max_wait 120s. Targets (no rate_limit): ≤ 1.10× the limit's own time, ≤ 2 %% of calls answered 429, none failed.\n\n")
	fmt.Printf("| limit at the fake | subject | total | limit's own time | × own | 429s at the fake | 429s / calls | failed | targets |\n")
	fmt.Printf("|---|---|--:|--:|--:|--:|--:|--:|---|\n")
	sdk, err := findHerdSDK()
	if err != nil {
		return err
	}
	type subj struct {
		name, bin, extra string
		target           bool
	}
	for _, hl := range herdLimits(o.herdScale) {
		subjects := []subj{{"notion-proxy, no rate_limit", e.proxyBin, "", true},
			{"notion-proxy, rate_limit set to the limit", e.proxyBin, hl.rateLine, false}}
		if o.herdBaseline != "" {
			subjects = append(subjects, subj{"baseline (-herd-baseline), no rate_limit", o.herdBaseline, "", false})
		}
		subjects = append(subjects, subj{name: "official JS SDK straight to the fake, its own retries"})
		own := hl.ownTime(calls)
		for _, sj := range subjects {
			var r herdResult
			var err error
			if sj.bin == "" {
				r, err = sdk.row(o, e, fake, hl.limit)
			} else {
				r, err = herdRow(o, e, fake, hl.limit, sj.bin, sj.extra)
			}
			if err != nil {
				return fmt.Errorf("%s, %s: %w", hl.name, sj.name, err)
			}
			ratio := r.total.Seconds() / own.Seconds()
			share := float64(r.limited) / float64(calls)
			verdict := "–"
			if sj.target {
				verdict = "met"
				if ratio > 1.10 || share > 0.02 || r.failed > 0 {
					verdict = "MISSED"
				}
			}
			fmt.Printf("| %s | %s | %.1f s | %.1f s | %.2f× | %d | %.1f %% | %d | %s |\n",
				hl.name, sj.name, r.total.Seconds(), own.Seconds(), ratio, r.limited, 100*share, r.failed, verdict)
			if r.first != "" {
				fmt.Fprintf(os.Stderr, "herd %s, %s: first failure: %s\n", hl.name, sj.name, r.first)
			}
		}
	}
	fmt.Println()
	fake.SetLimit(fakenotion.Limit{})
	return nil
}

// herdRow starts a fresh proxy (bin, with extra config lines), sets the
// fake's limit afresh and runs the callers through it.
func herdRow(o options, e *env, fake *fakenotion.Server, limit fakenotion.Limit, bin, extra string) (herdResult, error) {
	dir, err := os.MkdirTemp(e.dir, "herd-*")
	if err != nil {
		return herdResult{}, err
	}
	cfg := e.proxyConfig(e.token) + "retry: {max_wait: 120s}\n" + extra
	if os.Getenv("HERD_DEBUG") != "" {
		cfg = strings.Replace(cfg, "level: info", "level: debug", 1)
	}
	c, addr, _, err := startProxyChild("herd", dir, bin, cfg)
	if err != nil {
		return herdResult{}, err
	}
	defer c.stop()
	t := target{url: "http://" + addr + "/v1/users/me"}
	client := t.newClient(true, 2*o.herdCallers)
	defer client.CloseIdleConnections()

	fake.Reset()
	fake.SetLimit(limit)
	start := time.Now()
	total, failed, first := runCallers(o, client, t)
	r := herdResult{total: total, limited: fake.RateLimited(), sends: len(fake.Requests()), failed: failed, first: first}
	if os.Getenv("HERD_DEBUG") != "" {
		// The fake's view, per 500 ms: accepted/429.
		var ok, lim [200]int
		for _, q := range fake.Requests() {
			i := min(int(q.Time.Sub(start)/(500*time.Millisecond)), 199)
			if q.Status == http.StatusOK {
				ok[i]++
			} else {
				lim[i]++
			}
		}
		var b strings.Builder
		for i := range int(r.total/(500*time.Millisecond)) + 1 {
			fmt.Fprintf(&b, "%d/%d ", ok[i], lim[i])
		}
		fmt.Fprintln(os.Stderr, "herd timeline:", b.String())
	}
	return r, nil
}
