package proxy

import (
	"crypto/sha256"
	"fmt"
	"os"

	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// Reload re-reads the config file and swaps the new config in whole. A file
// that does not parse or validate is ignored: the last good config keeps
// serving, and the error is logged and shown by /-/status. Unless force is
// set, a file whose bytes did not change since the last attempt is not
// parsed again (a burst of events costs one reload).
func (s *Server) Reload(force bool) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	path := s.runtime().cfg.Path
	data, err := os.ReadFile(path)
	if err != nil {
		// A save-by-rename or delete-and-recreate passes through a moment
		// with no file; the next event reloads it.
		err = fmt.Errorf("read config: %w", err) // err names the path
		s.recordReload(err)
		return err
	}
	sum := sha256.Sum256(data)
	if !force && sum == s.lastHash {
		s.rereadTokenFiles()
		return nil
	}
	s.lastHash = sum
	cfg, err := config.Parse(data, path, s.getenv)
	if err != nil {
		s.recordReload(err)
		return err
	}
	err = s.apply(cfg)
	s.recordReload(err)
	return err
}

// rereadTokenFiles picks up a token_file whose content changed while the
// config did not (a Docker or Kubernetes secret rotated).
func (s *Server) rereadTokenFiles() {
	for _, p := range s.profiles.all() {
		pc := p.config()
		if pc.TokenFile == "" {
			continue
		}
		tok, ok, err := resolveToken(pc, s.getenv)
		if err != nil {
			if p.noteFileError(err.Error()) {
				s.log.Warn().Str("profile", p.name).Err(err).Msg("token_file unusable: keeping the last token")
			}
			continue
		}
		p.noteFileError("")
		if ok && tok != p.gate.Status().Token {
			s.log.Info().Str("profile", p.name).Str("token_file", pc.TokenFile).
				Str("token", rewrite.Fingerprint(tok)).Msg("token_file changed: new token in use")
			p.gate.SetToken(tok)
		}
	}
}

// recordReload logs a reload's outcome and keeps it for /-/status.
func (s *Server) recordReload(err error) {
	s.tellReload(err)
	s.statusMu.Lock()
	s.lastReload = s.now()
	if err != nil {
		s.reloadErr = err.Error()
	} else {
		s.reloadErr = ""
	}
	s.statusMu.Unlock()
	path := s.runtime().cfg.Path
	if err != nil {
		s.metrics.reloadErrors.Inc()
		s.log.Error().Err(err).Str("config", path).Msg("config not reloaded: the last good config keeps serving")
		return
	}
	s.metrics.reloads.Inc()
	ev := s.log.Info().Str("config", path)
	for _, p := range s.profiles.all() {
		ev = ev.Str("profile."+p.name, rewrite.Fingerprint(p.gate.Status().Token))
	}
	ev.Msg("config reloaded")
}

// onGateEvent tells the human what a profile's pause means and what to do.
func (s *Server) onGateEvent(name string, ev GateEvent) {
	s.tellGate(name, ev)
	path := s.runtime().cfg.Path
	switch {
	case ev.Paused && ev.Token == "":
		s.log.Warn().Str("profile", name).Str("config", path).Str("page", s.pageURL()).
			Msg("no token for this profile: calls wait until one is written to the config " +
				"(or run `notion-proxy token set`, or paste it at " + s.pageURL() + ")")
	case ev.Paused:
		s.metrics.pauses.WithLabelValues(name).Inc()
		if p := s.profiles.get(name); p != nil && p.refreshable() {
			s.log.Warn().Str("profile", name).Str("token", rewrite.Fingerprint(ev.Token)).
				Msg("Notion rejected the token: calls of this profile are paused while a new one is fetched")
			s.startRefresh(p)
			return
		}
		what := "Notion rejected the token (revoked, regenerated or expired)"
		if ev.Again {
			what = "Notion rejected the new token too"
		}
		s.log.Warn().Str("profile", name).Str("token", rewrite.Fingerprint(ev.Token)).Str("config", path).
			Str("page", s.pageURL()).
			Msg(what + ": calls of this profile are paused. Regenerate the token in Notion's integration " +
				"settings (https://www.notion.so/profile/integrations) and paste it at " + s.pageURL() +
				", or write it into " + path + " (or run `notion-proxy token set`); waiting calls are then replayed")
	case ev.Resumed:
		s.metrics.pauseDuration.WithLabelValues(name).Observe(ev.PausedFor.Seconds())
		s.log.Info().Str("profile", name).Float64("paused_for_ms", millis(ev.PausedFor)).Int("replayed", ev.Replayed).
			Msg("new token accepted: calls resumed")
	}
}
