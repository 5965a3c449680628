// Command bench measures notion-proxy on loopback against the same fake
// Notion (TLS, keep-alive allowed, answers at once) that the integration
// tests use, and prints the figures the README quotes, as Markdown:
//
//   - calls/s, p50 and p99 latency and CPU per call, direct to the fake and
//     through notion-proxy's three ways in, a bare goproxy MITM (./bareproxy)
//     and mitmproxy, with keep-alive and with a new connection per call,
//     each also as a ratio to direct;
//   - the same with the fake answering after a delay (-slow-upstream), as
//     Notion does, where the CPUs are not saturated;
//   - added latency at a steady, moderate load (-paced-rate);
//   - resume latency: 1,000 paused calls replayed after a token rename;
//   - memory per waiting call: RSS with 10,000 paused calls of small
//     bodies, and with 100 paused calls of 5 MiB bodies (spilled to disk);
//   - reload cost: the config rewritten 1,000 times in a burst;
//   - herd (-run herd, not run by default): callers against a fake that
//     enforces a rate limit (token bucket, window budget), total time
//     against the limit's own time and 429s at the fake (docs/design.md#the-rate-limit-scheduler),
//     with, as the anchor, the official JS SDK's callers straight to the
//     fake (needs node and `npm ci` in integration_test/js);
//   - cold start (-run coldstart, not run by default): callers against a
//     fake that answers after -cold-delay, with no limit, through a fresh
//     proxy (its scheduler in slow start) and direct.
//
// Every proxy under test runs as its own process (the real built binaries,
// and mitmdump), so its CPU time is read from /proc/<pid>/stat; the callers
// and the fake share this process. It is not part of the test suite: run it
// by hand, after integration_test/bench/setup.sh has installed mitmproxy
// (without it, mitmproxy's rows say n/a):
//
//	go run ./integration_test/bench -rounds 3
//
// Targets are checked in the output, never asserted: the figures depend on
// the machine. -notion-proxy benchmarks a given binary (say, an older build)
// instead of building ./cmd/notion-proxy.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
)

// options are the command-line flags.
type options struct {
	duration     time.Duration
	warmup       time.Duration
	concurrency  int
	sections     map[string]bool
	waiting      int
	resume       int
	reloads      int
	mitmdump     string
	keep         bool
	subjects     string
	rounds       int
	pacedRate    float64
	slowUpstream time.Duration
	proxyBin     string
	herdCallers  int
	herdCalls    int
	herdBaseline string
	herdScale    int
	coldDelay    time.Duration
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 4*time.Second, "how long each throughput row is measured")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured run before each row (connections, leaf certificates)")
	flag.IntVar(&o.concurrency, "concurrency", 16, "concurrent callers in the throughput rows")
	flag.IntVar(&o.rounds, "rounds", 1, "run every throughput row this many times and report the median")
	flag.Float64Var(&o.pacedRate, "paced-rate", 500, "calls/s of the steady-load latency rows (0: none)")
	flag.DurationVar(&o.slowUpstream, "slow-upstream", 5*time.Millisecond, "the fake's answer delay in the slow-upstream throughput rows (0: none)")
	run := flag.String("run", "throughput,resume,memory,reload", "sections to run (comma-separated)")
	flag.IntVar(&o.waiting, "waiting", 10000, "paused calls with small bodies in the memory section")
	flag.IntVar(&o.resume, "resume", 1000, "paused calls in the resume section")
	flag.IntVar(&o.reloads, "reloads", 1000, "config rewrites in the reload section")
	flag.StringVar(&o.mitmdump, "mitmdump", "", "path of mitmproxy's mitmdump (default: from $PATH)")
	flag.StringVar(&o.proxyBin, "notion-proxy", "", "benchmark this notion-proxy binary instead of building ./cmd/notion-proxy")
	flag.IntVar(&o.herdCallers, "herd-callers", 24, "callers in the herd section")
	flag.IntVar(&o.herdCalls, "herd-calls", 5, "calls per caller in the herd section")
	flag.IntVar(&o.herdScale, "herd-scale", 1, "herd section: multiply the limits' rates, bursts and budgets by this (run with -herd-calls scaled alike)")
	flag.StringVar(&o.herdBaseline, "herd-baseline", "", "also run the herd and cold-start rows through this notion-proxy binary (e.g. one built before the scheduler)")
	flag.DurationVar(&o.coldDelay, "cold-delay", 200*time.Millisecond, "cold-start section: the fake's answer delay")
	flag.BoolVar(&o.keep, "keep", false, "keep the scratch directory (logs, configs)")
	flag.StringVar(&o.subjects, "subjects", "", "throughput rows to run: comma-separated words of their names (default: all)")
	flag.Parse()
	o.rounds = max(o.rounds, 1)
	o.sections = map[string]bool{}
	for _, s := range strings.Split(*run, ",") {
		o.sections[strings.TrimSpace(s)] = true
	}
	if err := bench(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func bench(o options) error {
	fdLimit := raiseFileLimit()
	dir, err := os.MkdirTemp("", "notion-proxy-bench-*")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Printf("scratch directory: %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	e := &env{dir: dir, token: "ntn_bench_0123456789abcdefghijklmnopqrstuvwxyzAB"}
	fmt.Fprintln(os.Stderr, "building notion-proxy and bareproxy…")
	if err := e.build(o.proxyBin); err != nil {
		return err
	}
	e.findMitmdump(o.mitmdump)
	fake, err := fakenotion.Start(e.token)
	if err != nil {
		return err
	}
	defer fake.Close()
	e.fakeURL, _ = url.Parse(fake.URL())
	e.fakeCAPath = filepath.Join(dir, "fake-ca.pem")
	if err := fake.WriteCA(e.fakeCAPath); err != nil {
		return err
	}
	if e.fakeRoots, err = poolFrom(e.fakeCAPath); err != nil {
		return err
	}

	fmt.Printf("# notion-proxy benchmark\n\n")
	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s; open files limit %d\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), fdLimit)
	fmt.Printf("command: go run ./integration_test/bench %s\n", strings.Join(os.Args[1:], " "))
	fmt.Printf("load average before: %s\n\n", loadAverage())
	defer func() { fmt.Printf("load average after: %s\n", loadAverage()) }()

	if o.sections["throughput"] {
		if err := throughput(o, e, fake); err != nil {
			return fmt.Errorf("throughput: %w", err)
		}
	}
	var errs []error
	if o.sections["resume"] {
		if err := resumeLatency(o, e, fake); err != nil {
			errs = append(errs, fmt.Errorf("resume: %w", err))
			fmt.Printf("resume: FAILED: %v\n\n", err)
		}
	}
	if o.sections["memory"] {
		if err := memory(o, e, fake); err != nil {
			errs = append(errs, fmt.Errorf("memory: %w", err))
			fmt.Printf("memory: FAILED: %v\n\n", err)
		}
	}
	if o.sections["herd"] {
		if err := herd(o, e, fake); err != nil {
			errs = append(errs, fmt.Errorf("herd: %w", err))
			fmt.Printf("herd: FAILED: %v\n\n", err)
		}
	}
	if o.sections["coldstart"] {
		if err := coldStart(o, e, fake); err != nil {
			errs = append(errs, fmt.Errorf("coldstart: %w", err))
			fmt.Printf("coldstart: FAILED: %v\n\n", err)
		}
	}
	if o.sections["reload"] {
		if err := reloadCost(o, e, fake); err != nil {
			errs = append(errs, fmt.Errorf("reload: %w", err))
			fmt.Printf("reload: FAILED: %v\n\n", err)
		}
	}
	return errors.Join(errs...)
}

// raiseFileLimit lifts the open files limit as far as allowed: the memory
// section holds 10,000 connections open at once, on both sides (children
// inherit the limit).
func raiseFileLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	want := syscall.Rlimit{Cur: 1 << 17, Max: 1 << 17}
	if want.Max > lim.Max && syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
		return want.Cur
	}
	lim.Cur = lim.Max
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}

// loadAverage is the first three fields of /proc/loadavg: how busy the
// machine was besides the benchmark.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
