package metrics

import (
	"strings"

	"github.com/notion-proxy/notion-proxy/proxy/gate"
	"github.com/notion-proxy/notion-proxy/proxy/schedule"
	"github.com/prometheus/client_golang/prometheus"
)

// Profile is one profile's live state at scrape time.
type Profile struct {
	Name  string
	Gate  gate.Status
	Sched schedule.Status
}

// liveCollector reports the profiles' live state at scrape time: the
// gates (waiting calls, paused) and the rate-limit schedulers
// (docs/design.md#the-rate-limit-scheduler): 429s and 529s by reason,
// time held, the pace, waiting calls.
type liveCollector struct {
	live                                 func() []Profile
	waiting, paused                      *prometheus.Desc
	limited, held, pace, rateWait, holds *prometheus.Desc
}

func newLiveCollector(live func() []Profile) liveCollector {
	return liveCollector{live: live,
		waiting: prometheus.NewDesc("notion_proxy_waiting_calls",
			"Calls waiting for a new token now, by profile.", []string{"profile"}, nil),
		paused: prometheus.NewDesc("notion_proxy_paused",
			"1 while the profile is paused, else 0.", []string{"profile"}, nil),
		limited: prometheus.NewDesc("notion_proxy_rate_limited_total",
			"429 and 529 answers from Notion, by profile, status and rate_limit_reason (none: no reason given).",
			[]string{"profile", "status", "reason"}, nil),
		held: prometheus.NewDesc("notion_proxy_rate_limit_held_seconds_total",
			"Time the profile was held by rate-limit answers (its own or its workspace's).", []string{"profile"}, nil),
		pace: prometheus.NewDesc("notion_proxy_rate_limit_pace",
			"Calls per second the profile is paced at after a rate limit; 0 when unpaced.", []string{"profile"}, nil),
		rateWait: prometheus.NewDesc("notion_proxy_rate_limit_waiting_calls",
			"Calls waiting for a rate-limit hold or the pace now, by profile.", []string{"profile"}, nil),
		holds: prometheus.NewDesc("notion_proxy_rate_limited",
			"1 while the profile is held by a rate-limit answer, else 0.", []string{"profile"}, nil),
	}
}

func (c liveCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.waiting, c.paused, c.limited, c.held, c.pace, c.rateWait, c.holds} {
		ch <- d
	}
}

func (c liveCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.live() {
		ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(p.Gate.Waiting), p.Name)
		ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, oneIf(p.Gate.State == "paused"), p.Name)
		st := p.Sched
		for key, n := range st.Limited {
			status, reason, _ := strings.Cut(key, " ")
			ch <- prometheus.MustNewConstMetric(c.limited, prometheus.CounterValue, float64(n), p.Name, status, reason)
		}
		ch <- prometheus.MustNewConstMetric(c.held, prometheus.CounterValue, st.HeldSeconds, p.Name)
		ch <- prometheus.MustNewConstMetric(c.pace, prometheus.GaugeValue, st.Pace, p.Name)
		ch <- prometheus.MustNewConstMetric(c.rateWait, prometheus.GaugeValue, float64(st.Waiting), p.Name)
		ch <- prometheus.MustNewConstMetric(c.holds, prometheus.GaugeValue, oneIf(st.State == "held"), p.Name)
	}
}

func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
