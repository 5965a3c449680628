package integration_test

import (
	"flag"
	"fmt"
	"strings"
	"sync"

	"github.com/notion-proxy/notion-proxy/internal/fakenotion"
)

// suiteAudit collects, across the whole suite, every token the fake Notion
// servers received (the real secrets the proxy injected), every log line of
// every notion-proxy process and every admin answer read. TestMain checks at
// the end that no secret appears in any of them.
type suiteAudit struct {
	mu      sync.Mutex
	secrets map[string]bool
	procs   []*proc
	texts   []string
}

var audit = &suiteAudit{secrets: map[string]bool{}}

// addFake records every token and OAuth secret that was ever valid at fake.
func (a *suiteAudit) addFake(fake *fakenotion.Server) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range fake.Secrets() {
		a.secrets[s] = true
	}
}

func (a *suiteAudit) addProc(p *proc) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.procs = append(a.procs, p)
}

func (a *suiteAudit) addText(s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.texts = append(a.texts, s)
}

// check returns a description of every leak found, or "". With
// requireTokens (a full run), seeing no token at all is a failure too.
func (a *suiteAudit) check(requireTokens bool) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var leaks []string
	scan := func(where, text string) {
		for s := range a.secrets {
			if strings.Contains(text, s) {
				leaks = append(leaks, fmt.Sprintf("%s holds a token (…%s): %.200s", where, s[len(s)-4:], text))
			}
		}
	}
	lines := 0
	for _, p := range a.procs {
		for _, l := range p.allLines() {
			scan("a log line of "+p.cfgPath, l)
			lines++
		}
	}
	for _, t := range a.texts {
		scan("an admin answer", t)
	}
	if requireTokens && len(a.secrets) == 0 {
		leaks = append(leaks, "the audit saw no tokens at all: it is not wired")
	}
	if len(leaks) == 0 {
		fmt.Printf("secret audit: %d tokens, %d log lines of %d processes, %d admin answers: no token found\n",
			len(a.secrets), lines, len(a.procs), len(a.texts))
	}
	return strings.Join(leaks, "\n")
}

// flagRunAll reports whether the whole suite ran (no -run filter), so the
// audit's "no tokens seen" check only applies to a full run.
func flagRunAll() bool {
	f := flag.Lookup("test.run")
	return f == nil || f.Value.String() == ""
}
