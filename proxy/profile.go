package proxy

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/proxy/gate"
	"github.com/notion-proxy/notion-proxy/proxy/metrics"
	"github.com/notion-proxy/notion-proxy/proxy/schedule"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// profile is the live state of one configured profile: its gate (which holds
// the current token) and what selects it.
type profile struct {
	name       string
	gate       *gate.Gate
	sched      *schedule.Scheduler         // rate-limit holds, pace and rate_limit (ratelimit.go)
	last429    atomic.Pointer[gate.Answer] // the answer of the profile's latest hold
	refreshing atomic.Bool                 // a token refresher runs
	lastPrint  atomic.Pointer[[2]string]   // token, fingerprint: the last one logged

	mu          sync.Mutex
	cfg         config.Profile
	lastFileErr string
}

// fingerprint is rewrite.Fingerprint(tok), remembered for the token the
// profile's calls last logged (a hash per call otherwise).
func (p *profile) fingerprint(tok string) string {
	if last := p.lastPrint.Load(); last != nil && last[0] == tok {
		return last[1]
	}
	fp := rewrite.Fingerprint(tok)
	p.lastPrint.Store(&[2]string{tok, fp})
	return fp
}

// noteFileError records the token_file error now ("" = none) and reports
// whether it differs from the last one, so a broken file is logged once,
// not on every poll.
func (p *profile) noteFileError(msg string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	changed := msg != p.lastFileErr
	p.lastFileErr = msg
	return changed
}

// config returns the profile's current configuration.
func (p *profile) config() config.Profile {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

// refreshable reports whether the proxy can get the profile a new token by
// itself (token_command or OAuth).
func (p *profile) refreshable() bool {
	pc := p.config()
	return len(pc.TokenCommand) > 0 || pc.OAuth != nil
}

// setOAuth keeps refreshed OAuth tokens in memory until the reload of the
// file they were written to (or for good, if writing failed).
func (p *profile) setOAuth(access, refresh string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.OAuth != nil {
		o := *p.cfg.OAuth
		o.AccessToken, o.RefreshToken = access, refresh
		p.cfg.OAuth = &o
	}
}

// profiles is the set of live profiles, in config order. Gates survive
// reloads by name, so a reload never drops a waiting call.
type profiles struct {
	now    func() time.Time
	clock  schedule.Clock
	notify func(name string, ev gate.Event)

	mu     sync.RWMutex
	list   []*profile
	byName map[string]*profile
	match  map[string]*profile
}

func newProfiles(now func() time.Time, notify func(string, gate.Event)) *profiles {
	return &profiles{now: now, clock: schedule.SystemClock{}, notify: notify, byName: make(map[string]*profile)}
}

// sel returns the profile that a call presenting creds belongs to: the
// profile whose match list names the program's own Bearer token or proxy
// user, else the first profile.
func (ps *profiles) sel(creds rewrite.Credentials) *profile {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	if creds.Bearer != "" {
		if p, ok := ps.match[creds.Bearer]; ok {
			return p
		}
	}
	if creds.ProxyUser != "" {
		if p, ok := ps.match[creds.ProxyUser]; ok {
			return p
		}
	}
	return ps.list[0]
}

// get returns the named profile, or nil.
func (ps *profiles) get(name string) *profile {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	return ps.byName[name]
}

// live is every profile's state now, for /metrics.
func (ps *profiles) live() []metrics.Profile {
	all := ps.all()
	out := make([]metrics.Profile, 0, len(all))
	for _, p := range all {
		out = append(out, metrics.Profile{Name: p.name, Gate: p.gate.Status(), Sched: p.sched.Status()})
	}
	return out
}

// all returns the profiles in config order.
func (ps *profiles) all() []*profile {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	return append([]*profile(nil), ps.list...)
}

// update installs the profiles of cfg and their current tokens. tokens maps
// a profile name to its resolved token; a profile missing from tokens keeps
// the token its gate holds. It returns the profiles cfg no longer has: the
// caller closes their gates.
func (ps *profiles) update(cfg *config.Config, tokens map[string]string) []*profile {
	ps.mu.Lock()
	list := make([]*profile, 0, len(cfg.Profiles))
	match := make(map[string]*profile)
	for _, pc := range cfg.Profiles {
		p := ps.byName[pc.Name]
		if p == nil {
			name := pc.Name
			p = &profile{name: name, sched: schedule.New(ps.clock, schedule.DefaultMaxInflight)}
			p.gate = gate.New(tokens[name], cfg.Pause.MaxQueued, ps.now, func(ev gate.Event) {
				if ev.Kind == gate.Paused {
					// The calls a new token releases come back as one
					// crowd: let them in through slow start.
					p.sched.Restart()
				}
				ps.notify(name, ev)
			})
			ps.byName[name] = p
		}
		p.mu.Lock()
		p.cfg = pc
		p.mu.Unlock()
		p.gate.SetMaxQueued(cfg.Pause.MaxQueued)
		p.sched.SetCeiling(cfg.RateLimit.RPS, cfg.RateLimit.Burst)
		list = append(list, p)
		for _, m := range pc.Match {
			if _, dup := match[m]; !dup {
				match[m] = p
			}
		}
	}
	var removed []*profile
	for name, p := range ps.byName {
		if !slices.Contains(list, p) {
			delete(ps.byName, name)
			removed = append(removed, p)
		}
	}
	ps.list, ps.match = list, match
	ps.mu.Unlock()
	for _, p := range list {
		if tok, ok := tokens[p.name]; ok {
			p.gate.SetToken(tok)
		}
	}
	return removed
}
