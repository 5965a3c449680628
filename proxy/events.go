package proxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/proxy/gate"
	"github.com/notion-proxy/notion-proxy/proxy/metrics"
	"github.com/notion-proxy/notion-proxy/proxy/notify"
	"github.com/notion-proxy/notion-proxy/proxy/tokensource"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// The person who fixes the token (docs/design.md#the-person-who-fixes-the-token): events for them from the
// gate, the refresher, reloads and calls that give up, sent by a
// notify.Notifier, and what the status page (admin/page.go) shows them.
//
// Who is told what: a pause of a profile a person must fix (inline token,
// token_file, token_env) is a "paused" event; a pause of a token_command
// or OAuth profile is fixed by the proxy itself and only its failure is an
// event ("refresh_failed"). "resumed" follows only a pause the person was
// told about. A "config_error" is sent once per distinct error (a file
// missing for a moment during an editor's save is none).

// humanSide is what the proxy keeps for the person who fixes the token.
type humanSide struct {
	notifier   *notify.Notifier
	pageSecret string // the status page's per-process form secret

	mu            sync.Mutex
	told          map[string]bool   // profile → told about its current pause
	lastError     map[string]string // profile → what went wrong last, for the page
	lastConfigErr string            // the config_error last sent
}

func newHumanSide(cfg *config.Config, log zerolog.Logger, now func() time.Time, m *metrics.Metrics) *humanSide {
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "notion_proxy_notifications_total",
		Help: "Notifications for a person (notify:), by sink (command or webhook) and outcome (ok, failed, dropped).",
	}, []string{"sink", "outcome"})
	m.Registry().MustRegister(sent)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails
	return &humanSide{
		notifier: notify.New(notifyConfig(cfg), notify.Options{Logger: log, Now: now,
			Outcome: func(sink, outcome string) { sent.WithLabelValues(sink, outcome).Inc() }}),
		pageSecret: hex.EncodeToString(secret),
		told:       make(map[string]bool),
		lastError:  make(map[string]string),
	}
}

func notifyConfig(cfg *config.Config) notify.Config {
	return notify.Config{Command: cfg.Notify.Command, Webhook: cfg.Notify.Webhook}
}

// notifyGrace bounds how long a shutdown waits for the notifications
// still queued: a dead webhook must not hold the exit.
const notifyGrace = 2 * time.Second

// close delivers the events queued, within ctx and notifyGrace.
func (h *humanSide) close(ctx context.Context, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, notifyGrace)
	defer cancel()
	if err := h.notifier.Close(ctx); err != nil {
		log.Warn().Err(err).Msg("stopping: notifications still being delivered were abandoned")
	}
}

func (h *humanSide) setTold(profile string, told bool) (was bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	was = h.told[profile]
	h.told[profile] = told
	return was
}

func (h *humanSide) setLastError(profile, msg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastError[profile] = msg
}

func (h *humanSide) lastErrorOf(profile string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastError[profile]
}

// pageURL is the status page's address on the listener.
func (s *Server) pageURL() string {
	host := s.runtime().cfg.Listen
	if ap := s.ways.self.Load(); ap != nil {
		addr := ap.Addr()
		if addr.IsUnspecified() {
			addr = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		}
		host = netip.AddrPortFrom(addr.Unmap(), ap.Port()).String()
	}
	return "http://" + host + "/-/"
}

// whatToDo tells the person how to give a profile a new token.
func (s *Server) whatToDo(pc config.Profile) string {
	path := s.runtime().cfg.Path
	regenerate := "Regenerate the token in Notion's integration settings (https://www.notion.so/profile/integrations)"
	switch {
	case len(pc.TokenCommand) > 0:
		return "The proxy runs token_command " + pc.TokenCommand[0] + " again with back-off; make it print a valid token. Calls of this profile wait."
	case pc.OAuth != nil:
		return "Re-authorise the integration and put its new refresh_token into the oauth section of " + path + ". Calls of this profile wait."
	case pc.TokenEnv != "":
		return regenerate + ", put it into the environment variable " + pc.TokenEnv +
			" and restart notion-proxy (or give the profile a token_file). Calls of this profile wait."
	case pc.TokenFile != "":
		return regenerate + ", then paste it at " + s.pageURL() + " or write it into " + pc.TokenFile +
			". Waiting calls are then replayed."
	}
	return regenerate + ", then paste it at " + s.pageURL() + " or run: notion-proxy token set --profile " +
		pc.Name + " --config " + path + ". Waiting calls are then replayed."
}

// tellGate turns a gate's pause or resume into an event.
func (s *Server) tellGate(name string, ev gate.Event) {
	p := s.profiles.get(name)
	if p == nil {
		return
	}
	switch {
	case ev.Kind == gate.Paused:
		what := "Notion rejected the token " + rewrite.Fingerprint(ev.Token)
		if ev.Token == "" {
			what = "no token"
		}
		s.human.setLastError(name, what)
		if p.refreshable() {
			s.human.setTold(name, false)
			return // the refresher tells if it fails
		}
		s.human.setTold(name, true)
		since := ev.PausedSince.UTC()
		waiting := p.gate.Status().Waiting
		fp := ""
		if ev.Token != "" {
			fp = rewrite.Fingerprint(ev.Token)
		}
		s.human.notifier.Notify(notify.Event{Event: notify.Paused, Profile: name, Token: fp, Since: &since,
			Waiting: &waiting, Config: s.runtime().cfg.Path, Page: s.pageURL(), Do: s.whatToDo(p.config())})
	case ev.Kind == gate.Resumed:
		s.human.setLastError(name, "")
		if !s.human.setTold(name, false) {
			return
		}
		secs, replayed := ev.PausedFor.Seconds(), ev.Replayed
		s.human.notifier.Notify(notify.Event{Event: notify.Resumed, Profile: name,
			PausedFor: ev.PausedFor.Round(time.Second).String(), PausedForSeconds: &secs, Replayed: &replayed})
	}
}

// tellRefreshFailed tells that the profile's automatic refresh failed.
func (s *Server) tellRefreshFailed(p *profile, source string, err error) {
	s.human.setLastError(p.name, source+": "+err.Error())
	s.human.setTold(p.name, true)
	do := s.whatToDo(p.config())
	if !errors.Is(err, tokensource.ErrInvalidGrant) && source == "oauth" {
		do = "The proxy retries with back-off; calls of this profile wait."
	}
	s.human.notifier.Notify(notify.Event{Event: notify.RefreshFailed, Profile: p.name, Source: source,
		Error: err.Error(), Config: s.runtime().cfg.Path, Do: do})
}

// tellReload tells about a reload that failed, once per distinct error.
func (s *Server) tellReload(err error) {
	h := s.human
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil:
		h.lastConfigErr = ""
		return
	case errors.Is(err, fs.ErrNotExist), err.Error() == h.lastConfigErr:
		return
	}
	h.lastConfigErr = err.Error()
	h.notifier.Notify(notify.Event{Event: notify.ConfigError, Error: err.Error(), Config: s.runtime().cfg.Path})
}

// tellGaveUp tells that a call got its 401 after waiting; the notifier
// sums those of one profile into one event.
func (s *Server) tellGaveUp(c *call, err error) {
	reason := ""
	switch {
	case errors.Is(err, gate.ErrPauseTimeout):
		reason = notify.ReasonTimeout
	case errors.Is(err, gate.ErrQueueFull):
		reason = notify.ReasonMaxQueued
	case errors.Is(err, gate.ErrProfileRemoved):
		reason = notify.ReasonProfileRemoved
	default:
		return // shutting down: nobody to tell that to
	}
	s.human.notifier.Notify(notify.Event{Event: notify.GaveUp, Profile: c.profileName(), Calls: 1, Reason: reason})
}

// recentEvents are the last events about a profile, for the page.
func (s *Server) recentEvents(profile string) []notify.Event {
	evs := s.human.notifier.Recent(profile)
	for i := range evs {
		evs[i].Text = strings.TrimPrefix(evs[i].Text, "notion-proxy: ")
	}
	return evs
}
