package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
)

// How a row's callers use their connections.
const (
	modeKeepAlive = "keep-alive"
	modeNewConns  = "new per call"
	modePaced     = "keep-alive, paced"
	modeSlow      = "keep-alive, fake answers in "
)

// directName names the row every other is compared with.
const directName = "direct to the fake"

// subject is one way of reaching the fake.
type subject struct {
	name         string
	t            target
	pid          int    // the process under test; 0: none (direct)
	na           string // why it cannot run
	newConnsOnly bool   // only meaningful with a new connection per call
}

// row is one line of a table: the median of its rounds.
type row struct {
	mode string
	subject
	rounds []loadResult
}

// median returns the round with the median throughput (paced rows: the
// median p99).
func (r *row) median() loadResult {
	rs := slices.Clone(r.rounds)
	slices.SortFunc(rs, func(a, b loadResult) int {
		if r.mode == modePaced {
			return int(a.p99 - b.p99)
		}
		return int(a.rate() - b.rate())
	})
	return rs[len(rs)/2]
}

// throughput starts every subject, runs each row o.rounds times (rows
// interleaved, so that a disturbance of the machine hits one round of many
// rows rather than every round of one) and prints the tables and the
// target checks.
func throughput(o options, e *env, fake *fakenotion.Server) error {
	direct := target{url: fake.URL() + "/v1/users/me", roots: e.fakeRoots,
		header: map[string][]string{"Authorization": {"Bearer " + e.token}}}
	np, err := e.startNotionProxy("throughput")
	if err != nil {
		return err
	}
	defer np.stop()
	bare, bareTarget, err := e.startBareProxy()
	if err != nil {
		return err
	}
	defer bare.stop()
	mitm, mitmTarget, mitmErr := e.startMitmproxy()
	mitmPID, mitmNA := 0, ""
	if mitmErr == nil {
		defer mitm.stop()
		mitmPID = mitm.pid()
	} else {
		mitmNA = firstLine(mitmErr.Error())
	}
	resuming := np.httpsForward()
	resuming.resume = true
	subjects := []subject{
		{name: directName, t: direct},
		{name: "notion-proxy, base URL", t: np.baseURL(), pid: np.pid()},
		{name: "notion-proxy, plain-HTTP forward", t: np.plainForward(), pid: np.pid()},
		{name: "notion-proxy, HTTPS forward (MITM)", t: np.httpsForward(), pid: np.pid()},
		{name: "notion-proxy, HTTPS forward, client resumes TLS sessions", t: resuming, pid: np.pid(), newConnsOnly: true},
		{name: "bare goproxy MITM, HTTPS forward", t: bareTarget, pid: bare.pid()},
		{name: "mitmproxy (mitmdump + addon), HTTPS forward", t: mitmTarget, pid: mitmPID, na: mitmNA},
	}

	slow := modeSlow + o.slowUpstream.String()
	var rows []*row
	for _, mode := range []string{modeKeepAlive, slow, modeNewConns, modePaced} {
		if mode == modePaced && o.pacedRate <= 0 || mode == slow && o.slowUpstream <= 0 {
			continue
		}
		for _, s := range subjects {
			if s.newConnsOnly && mode != modeNewConns {
				continue
			}
			if s.name == directName || selected(o.subjects, s.name) {
				rows = append(rows, &row{mode: mode, subject: s})
			}
		}
	}
	for round := range o.rounds {
		for _, r := range rows {
			if r.na != "" {
				continue
			}
			fake.Reset() // the fake keeps a record of every call
			fmt.Fprintf(os.Stderr, "round %d/%d: %s, %s…\n", round+1, o.rounds, r.name, r.mode)
			rate := 0.0
			if r.mode == modePaced {
				rate = o.pacedRate
			}
			if r.mode == slow {
				fake.SetDelay(o.slowUpstream)
			}
			res, err := runLoad(r.t, r.mode != modeNewConns, o.concurrency, rate, o.warmup, o.duration, r.pid)
			fake.SetDelay(0)
			if err != nil {
				r.na = firstLine(err.Error())
				continue
			}
			r.rounds = append(r.rounds, res)
		}
	}
	fake.Reset()
	printThroughput(o, rows)
	return nil
}

func printThroughput(o options, rows []*row) {
	rounds := ""
	if o.rounds > 1 {
		rounds = fmt.Sprintf(", median of %d rounds", o.rounds)
	}
	fmt.Printf("## Throughput: GET /v1/users/me, %d callers as fast as answered, %v per row after %v warm-up%s\n\n",
		o.concurrency, o.duration, o.warmup, rounds)
	fmt.Println("| connections | way in | calls/s | × direct | p50 | p99 | CPU/call, proxy | CPU/call, all | × direct | failed |")
	fmt.Println("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
	directs := map[string]loadResult{}
	for _, r := range rows {
		if r.name == directName && len(r.rounds) > 0 {
			directs[r.mode] = r.median()
		}
	}
	for _, r := range rows {
		if r.mode == modePaced {
			continue
		}
		if r.na != "" || len(r.rounds) == 0 {
			fmt.Printf("| %s | %s | n/a (%s) | | | | | | | |\n", r.mode, r.name, r.na)
			continue
		}
		m, d := r.median(), directs[r.mode]
		sub, all := m.cpuPerCall()
		_, directAll := d.cpuPerCall()
		proxyCPU := "–"
		if r.pid != 0 {
			proxyCPU = us(sub)
		}
		name := r.name
		if r.t.resume {
			name += fmt.Sprintf(" (%.0f%% resumed)", 100*float64(m.resumed)/float64(max(m.calls, 1)))
		}
		fmt.Printf("| %s | %s | %.0f | %.2f× | %s | %s | %s | %s | %.2f× | %d |\n",
			r.mode, name, m.rate(), m.rate()/d.rate(), ms(m.p50), ms(m.p99),
			proxyCPU, us(all), float64(all)/float64(directAll), m.errors)
	}
	fmt.Println()
	fmt.Println("× direct: against the direct row with the same connections. CPU/call, proxy: the proxy process")
	fmt.Println("alone (/proc/<pid>/stat); CPU/call, all: proxy + callers + fake Notion (these two share the")
	fmt.Println("benchmark's process). Both CPUs are busy in the rows where the fake answers at once: those")
	fmt.Println("compare CPU cost per call. Where it answers after a delay, as Notion does (its own answers")
	fmt.Println("take 100 ms and more), the CPUs are not saturated and the rows compare what callers get.")
	fmt.Println()

	if o.pacedRate > 0 {
		fmt.Printf("## Added latency: the same calls at a steady %.0f calls/s from %d callers (keep-alive)\n\n", o.pacedRate, o.concurrency)
		fmt.Println("| way in | p50 | p99 | added p50 | added p99 | CPU/call, proxy | failed |")
		fmt.Println("|---|--:|--:|--:|--:|--:|--:|")
		d := directs[modePaced]
		for _, r := range rows {
			if r.mode != modePaced {
				continue
			}
			if r.na != "" || len(r.rounds) == 0 {
				fmt.Printf("| %s | n/a (%s) | | | | | |\n", r.name, r.na)
				continue
			}
			m := r.median()
			sub, _ := m.cpuPerCall()
			proxyCPU := "–"
			if r.pid != 0 {
				proxyCPU = us(sub)
			}
			fmt.Printf("| %s | %s | %s | %s | %s | %s | %d |\n", r.name, ms(m.p50), ms(m.p99),
				ms(m.p50-d.p50), ms(m.p99-d.p99), proxyCPU, m.errors)
		}
		fmt.Println()
	}

	find := func(mode, prefix string) *loadResult {
		for _, r := range rows {
			if r.mode == mode && strings.HasPrefix(r.name, prefix) && r.na == "" && len(r.rounds) > 0 {
				m := r.median()
				return &m
			}
		}
		return nil
	}
	fmt.Printf("Targets (%d callers):\n\n", o.concurrency)
	d := find(modeKeepAlive, directName)
	for _, mode := range []string{"base URL", "plain-HTTP forward", "HTTPS forward"} {
		np := find(modeKeepAlive, "notion-proxy, "+mode)
		if np == nil || d == nil {
			continue
		}
		check(fmt.Sprintf("%s, keep-alive: throughput ≥ 0.7× direct", mode), np.rate()/d.rate() >= 0.7,
			fmt.Sprintf("%.2f×", np.rate()/d.rate()))
		check(fmt.Sprintf("%s, keep-alive: added p99 < 1 ms (callers as fast as answered)", mode),
			np.p99-d.p99 < time.Millisecond, ms(np.p99-d.p99))
		if pd, pn := find(modePaced, directName), find(modePaced, "notion-proxy, "+mode); pd != nil && pn != nil {
			check(fmt.Sprintf("%s, keep-alive: added p99 < 1 ms (steady %.0f calls/s)", mode, o.pacedRate),
				pn.p99-pd.p99 < time.Millisecond, ms(pn.p99-pd.p99))
		}
	}
	slow := modeSlow + o.slowUpstream.String()
	if ds := find(slow, directName); ds != nil {
		for _, mode := range []string{"base URL", "plain-HTTP forward", "HTTPS forward"} {
			if np := find(slow, "notion-proxy, "+mode); np != nil {
				check(fmt.Sprintf("%s, %s: throughput ≥ 0.7× direct", mode, slow), np.rate()/ds.rate() >= 0.7,
					fmt.Sprintf("%.2f×", np.rate()/ds.rate()))
				check(fmt.Sprintf("%s, %s: added p99 < 1 ms", mode, slow), np.p99-ds.p99 < time.Millisecond,
					ms(np.p99-ds.p99))
			}
		}
	}
	np := find(modeKeepAlive, "notion-proxy, HTTPS")
	if bare := find(modeKeepAlive, "bare goproxy"); np != nil && bare != nil {
		check("HTTPS forward, keep-alive: throughput ≥ 1× bare goproxy", np.rate() >= bare.rate(),
			fmt.Sprintf("%.2f×", np.rate()/bare.rate()))
	}
	if npNew, bareNew := find(modeNewConns, "notion-proxy, HTTPS forward (MITM)"), find(modeNewConns, "bare goproxy"); npNew != nil && bareNew != nil {
		check("HTTPS forward, new connection per call: throughput ≥ 1× bare goproxy", npNew.rate() >= bareNew.rate(),
			fmt.Sprintf("%.2f×", npNew.rate()/bareNew.rate()))
	}
	if mitm := find(modeKeepAlive, "mitmproxy"); np != nil && mitm != nil {
		check("HTTPS forward, keep-alive: throughput ≥ 5× mitmproxy", np.rate() >= 5*mitm.rate(),
			fmt.Sprintf("%.1f×", np.rate()/mitm.rate()))
	} else {
		fmt.Println("- n/a    HTTPS forward, keep-alive: throughput ≥ 5× mitmproxy (mitmproxy did not run)")
	}
	fmt.Println()
}

// selected reports whether a row named name is among the comma-separated
// words of list ("" selects every row).
func selected(list, name string) bool {
	if list == "" {
		return true
	}
	for _, w := range strings.Split(list, ",") {
		if w = strings.TrimSpace(w); w != "" && strings.Contains(name, w) {
			return true
		}
	}
	return false
}

func check(what string, ok bool, got string) {
	mark := "met   "
	if !ok {
		mark = "MISSED"
	}
	fmt.Printf("- %s %s: %s\n", mark, what, got)
}
