package proxy

import (
	"strings"
	"time"

	"github.com/notion-proxy/notion-proxy/proxy/admin"
	"github.com/prometheus/client_golang/prometheus"
)

// rateCollector reports the rate-limit schedulers' state at scrape time
// (docs/design.md#the-rate-limit-scheduler): 429s and 529s by reason, time held, the pace, waiting calls.
type rateCollector struct {
	ps                                  *profiles
	limited, held, pace, waiting, holds *prometheus.Desc
}

func newRateCollector(ps *profiles) rateCollector {
	return rateCollector{ps: ps,
		limited: prometheus.NewDesc("notion_proxy_rate_limited_total",
			"429 and 529 answers from Notion, by profile, status and rate_limit_reason (none: no reason given).",
			[]string{"profile", "status", "reason"}, nil),
		held: prometheus.NewDesc("notion_proxy_rate_limit_held_seconds_total",
			"Time the profile was held by rate-limit answers (its own or its workspace's).", []string{"profile"}, nil),
		pace: prometheus.NewDesc("notion_proxy_rate_limit_pace",
			"Calls per second the profile is paced at after a rate limit; 0 when unpaced.", []string{"profile"}, nil),
		waiting: prometheus.NewDesc("notion_proxy_rate_limit_waiting_calls",
			"Calls waiting for a rate-limit hold or the pace now, by profile.", []string{"profile"}, nil),
		holds: prometheus.NewDesc("notion_proxy_rate_limited",
			"1 while the profile is held by a rate-limit answer, else 0.", []string{"profile"}, nil),
	}
}

func (r rateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{r.limited, r.held, r.pace, r.waiting, r.holds} {
		ch <- d
	}
}

func (r rateCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range r.ps.all() {
		st := p.sched.Status()
		for key, n := range st.Limited {
			status, reason, _ := strings.Cut(key, " ")
			ch <- prometheus.MustNewConstMetric(r.limited, prometheus.CounterValue, float64(n), p.name, status, reason)
		}
		held := 0.0
		if st.State == "held" {
			held = 1
		}
		ch <- prometheus.MustNewConstMetric(r.held, prometheus.CounterValue, st.HeldSeconds, p.name)
		ch <- prometheus.MustNewConstMetric(r.pace, prometheus.GaugeValue, st.Pace, p.name)
		ch <- prometheus.MustNewConstMetric(r.waiting, prometheus.GaugeValue, float64(st.Waiting), p.name)
		ch <- prometheus.MustNewConstMetric(r.holds, prometheus.GaugeValue, held, p.name)
	}
}

// rateStatus adds the scheduler's state to a profile's /-/status entry.
func rateStatus(p *profile, ps *admin.ProfileStatus) {
	st := p.sched.Status()
	ps.RateWaiting = st.Waiting
	if !st.HeldUntil.IsZero() {
		t := st.HeldUntil.UTC().Truncate(time.Millisecond)
		ps.RateLimitedUntil = &t
		ps.RateLimitReason = st.HoldReason
	}
	if st.Pace > 0 {
		pace := float64(int64(st.Pace*100)) / 100
		ps.Pace = &pace
	}
}
