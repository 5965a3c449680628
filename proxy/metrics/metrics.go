// Package metrics holds the Prometheus families the proxy serves on
// /metrics (docs/design.md#logs-and-metrics), every one named
// notion_proxy_…, in a registry of its own (no global state). The proxy
// counts into the families; the profiles' live state (gates and
// rate-limit schedulers) is read at scrape time from a function it gives.
package metrics

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the families the proxy counts into. The proxy's other
// families (browser refusals, notifications, log and shared-state health)
// register in Registry next to their counters.
type Metrics struct {
	reg *prometheus.Registry
	// Calls answered, by profile, class (read or write) and status.
	Calls *prometheus.CounterVec
	// Retries are sends repeated, by profile and reason.
	Retries *prometheus.CounterVec
	// Replays are calls sent again after waiting for a token, by profile.
	Replays *prometheus.CounterVec
	// Pauses are times a profile's token was rejected, by profile.
	Pauses *prometheus.CounterVec
	// PauseDuration is how long profiles stayed paused, by profile.
	PauseDuration *prometheus.HistogramVec
	// UpstreamLatency is the time to Notion's headers per send, by profile.
	UpstreamLatency *prometheus.HistogramVec
	// Reloads are config reloads applied.
	Reloads prometheus.Counter
	// ReloadErrors are config reloads ignored (the file was not valid).
	ReloadErrors prometheus.Counter
	// TokenRefreshes are automatic refreshes, by profile and result.
	TokenRefreshes *prometheus.CounterVec
}

// New returns the families, registered with the live state of the
// profiles, read from live at scrape time.
func New(live func() []Profile) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		Calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notion_proxy_calls_total",
			Help: "Calls answered, by profile, method class (read or write) and status.",
		}, []string{"profile", "class", "status"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notion_proxy_retries_total",
			Help: "Sends repeated after a rate limit or a transient failure, by profile and reason.",
		}, []string{"profile", "reason"}),
		Replays: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notion_proxy_replays_total",
			Help: "Calls sent again after waiting for a new token, by profile.",
		}, []string{"profile"}),
		Pauses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notion_proxy_pauses_total",
			Help: "Times a profile was paused because its token was rejected, by profile.",
		}, []string{"profile"}),
		PauseDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "notion_proxy_pause_duration_seconds",
			Help:    "How long profiles stayed paused, from the rejection to the accepted new token.",
			Buckets: []float64{.1, .5, 1, 5, 15, 60, 300, 900, 3600},
		}, []string{"profile"}),
		UpstreamLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "notion_proxy_upstream_latency_seconds",
			Help:    "Time to Notion's response headers, per send, by profile.",
			Buckets: prometheus.DefBuckets,
		}, []string{"profile"}),
		Reloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "notion_proxy_reloads_total",
			Help: "Config reloads that were applied.",
		}),
		ReloadErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "notion_proxy_reload_errors_total",
			Help: "Config reloads ignored because the file did not parse or validate.",
		}),
		TokenRefreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notion_proxy_token_refreshes_total",
			Help: "Automatic token refreshes (token_command or OAuth), by profile and result.",
		}, []string{"profile", "result"}),
	}
	m.reg.MustRegister(m.Calls, m.Retries, m.Replays, m.Pauses, m.PauseDuration, m.UpstreamLatency,
		m.Reloads, m.ReloadErrors, m.TokenRefreshes, newLiveCollector(live))
	return m
}

// Registry is where the proxy's other families register.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveCall counts one answered call of profile: its class from
// method, its status, its retries by reason, and whether it was replayed.
func (m *Metrics) ObserveCall(profile, method string, status int, retries map[string]int, replayed bool) {
	class := "write"
	if method == http.MethodGet || method == http.MethodHead {
		class = "read"
	}
	m.Calls.WithLabelValues(profile, class, strconv.Itoa(status)).Inc()
	for reason, n := range retries {
		m.Retries.WithLabelValues(profile, reason).Add(float64(n))
	}
	if replayed {
		m.Replays.WithLabelValues(profile).Inc()
	}
}
