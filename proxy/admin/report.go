package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// `notion-proxy status` (docs/design.md#the-person-who-fixes-the-token): the status page's summary in a
// terminal, fetched from the running proxy.

// Exit codes of `notion-proxy status`.
const (
	StatusExitOK          = 0 // every profile is ok
	StatusExitPaused      = 1 // at least one profile is paused
	StatusExitUnreachable = 2 // no proxy answered (or no address to ask)
)

// AdminAddr is the address to reach a proxy listening on listen: an
// unspecified host (all interfaces) is reached on 127.0.0.1.
func AdminAddr(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen %q is not host:port: %w", listen, err)
	}
	if port == "0" {
		return "", fmt.Errorf("listen %s has port 0 (any free port): pass the address the proxy logged with --addr", listen)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// FetchSummary asks the proxy at addr (host:port) for its summary.
func FetchSummary(ctx context.Context, client *http.Client, addr string) (Summary, error) {
	var sum Summary
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+pageSummaryPath, nil)
	if err != nil {
		return sum, fmt.Errorf("ask %s: %w", addr, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return sum, fmt.Errorf("no notion-proxy answers at %s: %w", addr, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return sum, fmt.Errorf("read the answer of %s: %w", addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		return sum, fmt.Errorf("%s answered %s: %s", addr, resp.Status, strings.TrimSpace(string(data)))
	}
	if err := json.Unmarshal(data, &sum); err != nil {
		return sum, fmt.Errorf("%s did not answer like notion-proxy: %w", addr, err)
	}
	return sum, nil
}

// WriteSummary prints sum for a person in a terminal and returns the exit
// code: StatusExitPaused if a profile is paused, else StatusExitOK.
func WriteSummary(w io.Writer, sum Summary, now time.Time) int {
	code := StatusExitOK
	fmt.Fprintf(w, "notion-proxy: config %s\n", sum.Config)
	if sum.LastReloadError != "" {
		fmt.Fprintf(w, "  the last reload failed (the last good config keeps serving):\n    %s\n", sum.LastReloadError)
	}
	if sh := sum.Shared; sh != nil {
		fmt.Fprintf(w, "  shared with the other replicas (Redis): %s\n", sh.State)
		if sh.State != "connected" && sh.LastError != "" {
			fmt.Fprintf(w, "    serving on this replica's own state: %s\n", sh.LastError)
		}
	}
	for _, p := range sum.Profiles {
		fmt.Fprintf(w, "\nprofile %s: %s\n", p.Name, strings.ToUpper(p.State))
		source := p.Source
		if p.SourceDetail != "" {
			source += " " + p.SourceDetail
		}
		token := p.Token
		if token == "" {
			token = "none yet"
		}
		fmt.Fprintf(w, "  token:   %s (from %s)\n", token, source)
		if p.State == "paused" {
			code = StatusExitPaused
			if p.PausedSince != nil {
				fmt.Fprintf(w, "  paused:  since %s (%s ago)\n", p.PausedSince.Local().Format(time.DateTime),
					now.Sub(*p.PausedSince).Round(time.Second))
			}
			fmt.Fprintf(w, "  waiting: %d call(s)\n", p.Waiting)
			switch {
			case p.TokenUntried:
				fmt.Fprintf(w, "  now:     a new token is in place; the next call tries it\n")
			case p.LastError != "":
				fmt.Fprintf(w, "  why:     %s\n", p.LastError)
			}
			fmt.Fprintf(w, "  to do:   %s\n", p.Do)
		}
		if n := len(p.Events); n > 0 {
			fmt.Fprintf(w, "  last events:\n")
			for _, ev := range p.Events[max(0, n-3):] {
				fmt.Fprintf(w, "    %s %s\n", ev.Time.Local().Format(time.TimeOnly), firstSentence(ev.Text))
			}
		}
	}
	fmt.Fprintf(w, "\nstatus page: %s\n", sum.Page)
	return code
}

// firstSentence is what happened, from an event's text, without what to
// do (printed once, above).
func firstSentence(text string) string {
	text = strings.TrimPrefix(text, "notion-proxy: ")
	if i := strings.Index(text, ". "); i >= 0 {
		return text[:i+1]
	}
	return text
}
