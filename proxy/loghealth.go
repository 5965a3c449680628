package proxy

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LogWriterHealth is what the log writer says of itself (logbatch.Writer has
// both methods), for /metrics and /-/healthz.
type LogWriterHealth interface {
	// Dropped returns how many log lines were dropped so far.
	Dropped() uint64
	// StalledFor returns how long the write under way has been going at
	// now, or 0 when none is.
	StalledFor(now time.Time) time.Duration
}

// logStallNoted is how long a write to the log may take before /-/healthz
// mentions it.
const logStallNoted = 5 * time.Second

// registerLogHealth adds notion_proxy_log_lines_dropped_total to reg, read from
// h at scrape time (always 0 without h).
func registerLogHealth(reg prometheus.Registerer, h LogWriterHealth) {
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "notion_proxy_log_lines_dropped_total",
		Help: "Log lines dropped because the log writer (stderr) did not keep up; calls never wait for it.",
	}, func() float64 {
		if h == nil {
			return 0
		}
		return float64(h.Dropped())
	}))
}

// healthText is the body of /-/healthz. Its status is always 200: calls
// never wait for the log, so a stalled log writer does not stop them, and
// a proxy that cannot accept (out of descriptors) cannot answer at all.
// What it says tells a person that log lines are being lost.
func healthText(h LogWriterHealth, now time.Time) string {
	if h == nil {
		return "ok\n"
	}
	stalled, dropped := h.StalledFor(now), h.Dropped()
	switch {
	case stalled >= logStallNoted:
		return fmt.Sprintf("ok: calls proceed, but the log writer (stderr) has been stalled for %s; "+
			"%d log lines dropped so far\n", stalled.Round(time.Second), dropped)
	case dropped > 0:
		return fmt.Sprintf("ok: %d log lines were dropped while the log writer (stderr) was stalled\n", dropped)
	}
	return "ok\n"
}
