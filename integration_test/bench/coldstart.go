package main

import (
	"fmt"
	"os"
	"time"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
)

// The cold-start section (-run coldstart, not run by default): N callers ×
// M calls against a fake that answers after -cold-delay, as Notion does,
// with no limit at all, through a fresh notion-proxy (its scheduler in
// slow start) and straight to the fake; then a second batch through the
// same proxy. With no 429 the scheduler should cost nothing: every batch
// near direct's M round trips. -herd-baseline adds the same rows for
// another binary.

func coldStart(o options, e *env, fake *fakenotion.Server) error {
	fmt.Printf("## Cold start: %d callers × %d calls, the fake answering in %v, no limit\n\n", o.herdCallers, o.herdCalls, o.coldDelay)
	fmt.Printf("Base-URL mode, keep-alive, a fresh proxy per row; each caller sends its next call as soon as the last is answered. Direct needs %d round trips (%v).\n\n",
		o.herdCalls, time.Duration(o.herdCalls)*o.coldDelay)
	fmt.Printf("| subject | first batch | × direct | second batch | × direct | failed |\n")
	fmt.Printf("|---|--:|--:|--:|--:|--:|\n")
	fake.Reset()
	fake.SetLimit(fakenotion.Limit{})
	fake.SetDelay(o.coldDelay)
	defer fake.SetDelay(0)
	direct := target{url: fake.URL() + "/v1/users/me", roots: e.fakeRoots,
		header: map[string][]string{"Authorization": {"Bearer " + e.token}}}
	client := direct.newClient(true, 2*o.herdCallers)
	d1, f1, _ := runCallers(o, client, direct)
	d2, f2, _ := runCallers(o, client, direct)
	client.CloseIdleConnections()
	fmt.Printf("| direct to the fake | %.2f s | 1.00× | %.2f s | 1.00× | %d |\n", d1.Seconds(), d2.Seconds(), f1+f2)
	subjects := []struct{ name, bin string }{{"notion-proxy", e.proxyBin}}
	if o.herdBaseline != "" {
		subjects = append(subjects, struct{ name, bin string }{"baseline (-herd-baseline)", o.herdBaseline})
	}
	for _, sj := range subjects {
		p1, p2, failed, err := coldProxy(o, e, sj.bin)
		if err != nil {
			return fmt.Errorf("%s: %w", sj.name, err)
		}
		fmt.Printf("| %s | %.2f s | %.2f× | %.2f s | %.2f× | %d |\n", sj.name,
			p1.Seconds(), p1.Seconds()/d1.Seconds(), p2.Seconds(), p2.Seconds()/d2.Seconds(), failed)
	}
	fmt.Println()
	return nil
}

// coldProxy starts bin on a fresh config and runs two batches through it.
func coldProxy(o options, e *env, bin string) (first, second time.Duration, failed int, err error) {
	dir, err := os.MkdirTemp(e.dir, "cold-*")
	if err != nil {
		return 0, 0, 0, err
	}
	c, addr, _, err := startProxyChild("cold", dir, bin, e.proxyConfig(e.token))
	if err != nil {
		return 0, 0, 0, err
	}
	defer c.stop()
	t := target{url: "http://" + addr + "/v1/users/me"}
	client := t.newClient(true, 2*o.herdCallers)
	defer client.CloseIdleConnections()
	first, f1, _ := runCallers(o, client, t)
	second, f2, _ := runCallers(o, client, t)
	return first, second, f1 + f2, nil
}
