package proxy

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/proxy/filewatch"
	"github.com/notion-proxy/notion-proxy/proxy/gate"
	"github.com/notion-proxy/notion-proxy/proxy/tokensource"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// Reload re-reads the config file and swaps the new config in whole. A file
// that does not parse or validate is ignored: the last good config keeps
// serving, and the error is logged and shown by /-/status. Unless force is
// set, a file whose bytes did not change since the last attempt is not
// parsed again (a burst of events costs one reload). Reload returns an
// error only when the file was not applied: a config applied with some
// profiles' token sources failing (those keep the token they had) is logged
// per profile and shown in /-/status, and Reload returns nil. A read that
// failed for another reason than a missing file (EMFILE, EIO…) is retried
// with back-off by the watcher (filewatch.Retry: 50 ms doubling to 5 s).
func (s *Server) Reload(force bool) error {
	s.reloads.mu.Lock()
	defer s.reloads.mu.Unlock()
	path := s.runtime().cfg.Path
	data, err := s.readConfigFile(path)
	if err != nil {
		// A save-by-rename or delete-and-recreate passes through a moment
		// with no file; the next event reloads it, even with the bytes
		// of the config in use: the error it ends is cleared.
		s.reloads.lastHash = [sha256.Size]byte{}
		err = fmt.Errorf("read config: %w", err) // err names the path
		s.recordReload(err)
		return err
	}
	sum := sha256.Sum256(data)
	if !force && sum == s.reloads.lastHash {
		s.reloads.readRetry.Note(s.rereadTokenFiles())
		return nil
	}
	s.reloads.lastHash = sum
	cfg, err := config.Parse(data, path, s.getenv)
	if err != nil {
		s.recordReload(err)
		return err
	}
	LogUnset(s.log, cfg)
	err = s.apply(cfg)
	if err != nil && !isTokenErrors(err) && filewatch.ReadFailed(err) {
		s.reloads.lastHash = [sha256.Size]byte{} // the retry must parse these bytes again
	}
	s.recordReload(err)
	if isTokenErrors(err) {
		return nil
	}
	return err
}

// rereadTokenFiles picks up a token_file whose content changed while the
// config did not (a Docker or Kubernetes secret rotated). It reports
// whether a file could not be read for another reason than its absence, so
// that the read is retried.
func (s *Server) rereadTokenFiles() (failed bool) {
	for _, p := range s.profiles.all() {
		pc := p.config()
		if pc.TokenFile == "" {
			continue
		}
		tok, ok, err := tokensource.Resolve(pc, s.getenv)
		if err != nil {
			failed = failed || filewatch.ReadFailed(err)
			if p.noteFileError(err.Error()) {
				s.log.Error().Str("profile", p.name).Str("token_file", pc.TokenFile).Err(err).
					Msg("token_file unusable: the profile keeps its last token")
			}
			continue
		}
		p.noteFileError("")
		if ok && s.replicas.store != nil {
			if _, changed := s.sourceChanges(map[string]string{p.name: tok})[p.name]; changed {
				s.log.Info().Str("profile", p.name).Str("token_file", pc.TokenFile).
					Str("token", rewrite.Fingerprint(tok)).Msg("token_file changed: new token in use")
				p.gate.SetToken(tok)
				s.shareToken(p, tok, "")
			}
			continue
		}
		if ok && tok != p.gate.Status().Token {
			s.log.Info().Str("profile", p.name).Str("token_file", pc.TokenFile).
				Str("token", rewrite.Fingerprint(tok)).Msg("token_file changed: new token in use")
			p.gate.SetToken(tok)
		}
	}
	return failed
}

// recordReload logs a reload's outcome and keeps it for /-/status. Called
// with reloads.mu held.
func (s *Server) recordReload(err error) {
	s.tellReload(err)
	now := s.now()
	s.status.mu.Lock()
	s.status.lastReload = now
	if err != nil {
		s.status.err = err.Error()
	} else {
		s.status.err = ""
	}
	s.status.mu.Unlock()
	retryIn := s.reloads.readRetry.Note(filewatch.ReadFailed(err))
	path := s.runtime().cfg.Path
	var te *tokenErrors
	if err != nil && !errors.As(err, &te) {
		s.metrics.ReloadErrors.Inc()
		log, held := s.reloads.errLog.allow(err.Error(), now)
		if !log {
			return
		}
		ev := s.log.Error().Err(err).Str("config", path)
		if held > 0 {
			ev = ev.Int("repeated", held)
		}
		if retryIn > 0 {
			ev = ev.Str("retry_in", retryIn.String())
		}
		ev.Msg("config not reloaded: the last good config keeps serving")
		return
	}
	s.reloads.errLog.reset()
	s.metrics.Reloads.Inc()
	ev := s.log.Info().Str("config", path)
	msg := "config reloaded"
	if te != nil {
		ev = s.log.Warn().Str("config", path)
		msg = "config reloaded, except the tokens of profiles " + strings.Join(te.profiles, ", ") +
			": their token source failed, they keep their last token"
	}
	for _, p := range s.profiles.all() {
		ev = ev.Str("profile."+p.name, rewrite.Fingerprint(p.gate.Status().Token))
	}
	if te != nil {
		for i, name := range te.profiles {
			ev = ev.Str("not_applied."+name, te.errs[i].Error())
		}
		if retryIn > 0 {
			ev = ev.Str("retry_in", retryIn.String())
		}
	}
	ev.Msg(msg)
}

// onGateEvent tells the human what a profile's pause means and what to do.
func (s *Server) onGateEvent(name string, ev gate.Event) {
	s.tellGate(name, ev)
	path := s.runtime().cfg.Path
	switch {
	case ev.Kind == gate.Paused && ev.Token == "":
		s.log.Warn().Str("profile", name).Str("config", path).Str("page", s.pageURL()).
			Msg("no token for this profile: calls wait until one is written to the config " +
				"(or run `notion-proxy token set`, or paste it at " + s.pageURL() + ")")
	case ev.Kind == gate.Paused:
		s.metrics.Pauses.WithLabelValues(name).Inc()
		s.shareRejection(name, ev.Token)
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
	case ev.Kind == gate.Resumed:
		s.metrics.PauseDuration.WithLabelValues(name).Observe(ev.PausedFor.Seconds())
		s.log.Info().Str("profile", name).Float64("paused_for_ms", millis(ev.PausedFor)).Int("replayed", ev.Replayed).
			Msg("new token accepted: calls resumed")
	}
}

// tokenErrors is apply's error when the config was applied but some
// profiles' token sources failed: each of those keeps the token it had
// (none, for a new profile). profiles[i] failed with errs[i].
type tokenErrors struct {
	profiles []string
	errs     []error
}

func (e *tokenErrors) add(profile string, err error) {
	e.profiles = append(e.profiles, profile)
	e.errs = append(e.errs, fmt.Errorf("profile %s: %w", profile, err))
}

func (e *tokenErrors) Error() string   { return errors.Join(e.errs...).Error() }
func (e *tokenErrors) Unwrap() []error { return e.errs }

// isTokenErrors reports whether err says the config was applied with some
// tokens left as they were.
func isTokenErrors(err error) bool {
	var te *tokenErrors
	return errors.As(err, &te)
}
