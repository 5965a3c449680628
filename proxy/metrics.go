package proxy

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the Prometheus families served on /metrics, every one named
// notion_proxy_…, in a registry of the Server's own (no global state).
type metrics struct {
	reg            *prometheus.Registry
	calls          *prometheus.CounterVec
	retries        *prometheus.CounterVec
	replays        *prometheus.CounterVec
	pauses         *prometheus.CounterVec
	pauseDuration  *prometheus.HistogramVec
	upstreamLat    *prometheus.HistogramVec
	reloads        prometheus.Counter
	reloadErrors   prometheus.Counter
	tokenRefreshes *prometheus.CounterVec
}

func newMetrics(ps *profiles) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notion_proxy_calls_total",
			Help: "Calls answered, by profile, method class (read or write) and status.",
		}, []string{"profile", "class", "status"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notion_proxy_retries_total",
			Help: "Sends repeated after a rate limit or a transient failure, by profile and reason.",
		}, []string{"profile", "reason"}),
		replays: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notion_proxy_replays_total",
			Help: "Calls sent again after waiting for a new token, by profile.",
		}, []string{"profile"}),
		pauses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notion_proxy_pauses_total",
			Help: "Times a profile was paused because its token was rejected, by profile.",
		}, []string{"profile"}),
		pauseDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "notion_proxy_pause_duration_seconds",
			Help:    "How long profiles stayed paused, from the rejection to the accepted new token.",
			Buckets: []float64{.1, .5, 1, 5, 15, 60, 300, 900, 3600},
		}, []string{"profile"}),
		upstreamLat: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "notion_proxy_upstream_latency_seconds",
			Help:    "Time to Notion's response headers, per send, by profile.",
			Buckets: prometheus.DefBuckets,
		}, []string{"profile"}),
		reloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "notion_proxy_reloads_total",
			Help: "Config reloads that were applied.",
		}),
		reloadErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "notion_proxy_reload_errors_total",
			Help: "Config reloads ignored because the file did not parse or validate.",
		}),
		tokenRefreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notion_proxy_token_refreshes_total",
			Help: "Automatic token refreshes (token_command or OAuth), by profile and result.",
		}, []string{"profile", "result"}),
	}
	m.reg.MustRegister(m.calls, m.retries, m.replays, m.pauses, m.pauseDuration, m.upstreamLat,
		m.reloads, m.reloadErrors, m.tokenRefreshes, newGateCollector(ps), newRateCollector(ps))
	return m
}

// handler serves the registry in Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// observeCall counts one answered call.
func (m *metrics) observeCall(c *call, method string) {
	if c.profile == nil {
		return
	}
	class := "write"
	if method == http.MethodGet || method == http.MethodHead {
		class = "read"
	}
	m.calls.WithLabelValues(c.profile.name, class, strconv.Itoa(c.status)).Inc()
	for reason, n := range c.retries {
		m.retries.WithLabelValues(c.profile.name, reason).Add(float64(n))
	}
	if c.replayed {
		m.replays.WithLabelValues(c.profile.name).Inc()
	}
}

// gateCollector reports the gates' live state at scrape time.
type gateCollector struct {
	ps                  *profiles
	waiting, pausedDesc *prometheus.Desc
}

func newGateCollector(ps *profiles) gateCollector {
	return gateCollector{ps: ps,
		waiting: prometheus.NewDesc("notion_proxy_waiting_calls",
			"Calls waiting for a new token now, by profile.", []string{"profile"}, nil),
		pausedDesc: prometheus.NewDesc("notion_proxy_paused",
			"1 while the profile is paused, else 0.", []string{"profile"}, nil),
	}
}

func (g gateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.waiting
	ch <- g.pausedDesc
}

func (g gateCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range g.ps.all() {
		st := p.gate.Status()
		paused := 0.0
		if st.State == "paused" {
			paused = 1
		}
		ch <- prometheus.MustNewConstMetric(g.waiting, prometheus.GaugeValue, float64(st.Waiting), p.name)
		ch <- prometheus.MustNewConstMetric(g.pausedDesc, prometheus.GaugeValue, paused, p.name)
	}
}
