package config

import (
	"slices"
	"time"

	"gopkg.in/yaml.v3"
)

// Defaults (README, Config) that are not spelled out in defaults().
const (
	defaultPauseTimeout = 10 * time.Minute
	defaultRetryMaxWait = 60 * time.Second
)

// isTokenSource reports whether key says where a profile's token comes
// from. These keys are valid inside a profile and, as shorthand for one
// "default" profile, at the top level.
func isTokenSource(key string) bool {
	switch key {
	case "token", "token_file", "token_env", "token_command", "oauth":
		return true
	}
	return false
}

// config decodes the top-level mapping. Settings are decoded in file order,
// so the first problem in the file is the one reported; checks that span
// keys (listen vs proxy_auth, shorthand vs profiles) run afterwards.
func (p *parser) config(root *yaml.Node) (*Config, error) {
	cfg := p.defaults()
	entries, err := p.pairs(root)
	if err != nil {
		return nil, err
	}
	var (
		listenAt, profilesAt *yaml.Node
		short                *profileDecoder // top-level token source shorthand
	)
	for _, pr := range entries {
		if isTokenSource(pr.key) {
			if short == nil {
				short = &profileDecoder{p: p, prof: Profile{Name: "default", Line: pr.keyNode.Line}}
			}
			if err := short.source(pr); err != nil {
				return nil, err
			}
			continue
		}
		switch pr.key {
		case "profiles":
			profilesAt = pr.keyNode
			if cfg.Profiles, err = p.profiles(pr); err != nil {
				return nil, err
			}
			continue
		case "log":
			err = p.log(pr, &cfg.Log)
		case "pause":
			err = p.pause(pr, &cfg.Pause)
		case "retry":
			err = p.retry(pr, &cfg.Retry)
		case "rate_limit":
			err = p.rateLimit(pr, &cfg.RateLimit)
		case "allowed_hosts":
			cfg.AllowedHosts, err = p.list(pr, "allowed_hosts", canonicalHost)
		case "cors":
			err = p.cors(pr, &cfg.CORS)
		case "notify":
			err = p.notify(pr, &cfg.Notify)
		case "shared":
			err = p.shared(pr, &cfg.Shared)
		case "listen", "upstream", "upstream_ca", "ca_dir", "notion_version",
			"other_hosts", "proxy_auth", "admin_token", "max_body_bytes":
			var v string
			if v, err = p.str(pr, pr.key); err != nil {
				return nil, err
			}
			if v == "" {
				continue // an empty value means the default
			}
			if pr.key == "listen" {
				listenAt = pr.keyNode
			}
			err = p.setting(pr, v, cfg)
		default:
			err = p.unknownKey(pr, "")
		}
		if err != nil {
			return nil, err
		}
	}

	switch {
	case short != nil && profilesAt != nil:
		return nil, p.errAt(short.first.keyNode, "top-level %s and profiles are both set: move %s into a profile", short.first.key, short.first.key)
	case short != nil:
		cfg.Profiles = []Profile{short.prof}
	case profilesAt == nil:
		cfg.Profiles = []Profile{{Name: "default"}}
	}
	if listenAt != nil && cfg.ProxyAuth == "" && !isLoopback(cfg.Listen) {
		return nil, p.errAt(listenAt, "listen %s is not loopback: set proxy_auth", cfg.Listen)
	}
	if cfg.RateLimit.RPS > 0 && cfg.RateLimit.Burst == 0 {
		cfg.RateLimit.Burst = defaultBurst(cfg.RateLimit.RPS)
	}
	return cfg, nil
}

// setting decodes one top-level single-value setting whose expanded value v
// is not empty.
func (p *parser) setting(pr pair, v string, cfg *Config) error {
	at := pr.keyNode
	switch pr.key {
	case "listen":
		if err := checkListen(v); err != nil {
			return p.wrapAt(at, err)
		}
		cfg.Listen = v
	case "upstream":
		u, err := parseUpstream(v)
		if err != nil {
			return p.wrapAt(at, err)
		}
		cfg.Upstream = u
	case "upstream_ca":
		cfg.UpstreamCA = p.path(v)
	case "ca_dir":
		cfg.CADir, cfg.CADirLine = p.path(v), at.Line
	case "notion_version":
		if problem := secretProblem(v); problem != "" {
			return p.errAt(at, "notion_version %s", problem)
		}
		cfg.NotionVersion = v
	case "other_hosts":
		if err := oneOf("other_hosts", v, OtherHostsTunnel, OtherHostsDeny); err != nil {
			return p.wrapAt(at, err)
		}
		cfg.OtherHosts = v
	case "proxy_auth":
		if err := checkProxyAuth(v); err != nil {
			return p.wrapAt(at, err)
		}
		cfg.ProxyAuth = v
	case "admin_token":
		if problem := notSecretText(pr.val, "the admin token"); problem != "" {
			return p.errAt(at, "admin_token %s", problem)
		}
		if problem := secretProblem(v); problem != "" {
			return p.errAt(at, "admin_token %s", problem)
		}
		cfg.AdminToken = v
	case "max_body_bytes":
		n, err := parseInt("max_body_bytes", v, 1)
		if err != nil {
			return p.wrapAt(at, err)
		}
		cfg.MaxBodyBytes = n
	}
	return nil
}

// scalars decodes a section of single values, such as pause or retry:
// every key must be one of keys, a null or empty value keeps the default,
// and set stores the ${NAME}-expanded text v of the key named name
// ("pause.timeout"). An error of set is reported at the key's line.
func (p *parser) scalars(pr pair, section string, keys []string, set func(e pair, name, v string) error) error {
	entries, err := p.section(pr, section)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !slices.Contains(keys, e.key) {
			return p.unknownKey(e, section)
		}
		name := section + "." + e.key
		v, err := p.str(e, name)
		if err != nil {
			return err
		}
		if v == "" {
			continue // the default
		}
		if err := set(e, name, v); err != nil {
			return p.wrapAt(e.keyNode, err)
		}
	}
	return nil
}

func (p *parser) log(pr pair, l *Log) error {
	return p.scalars(pr, "log", []string{"level", "format"}, func(e pair, name, v string) error {
		if e.key == "level" {
			l.Level = v
			return oneOf(name, v, "trace", "debug", "info", "warn", "error")
		}
		l.Format = v
		return oneOf(name, v, "auto", "json", "console")
	})
}

func (p *parser) pause(pr pair, pa *Pause) error {
	return p.scalars(pr, "pause", []string{"timeout", "max_queued"}, func(e pair, name, v string) (err error) {
		if e.key == "timeout" {
			pa.Timeout, err = parsePositiveDuration(name, v)
			return err
		}
		n, err := parseInt(name, v, 1)
		pa.MaxQueued = int(min(n, int64(maxInt)))
		return err
	})
}

func (p *parser) retry(pr pair, r *Retry) error {
	return p.scalars(pr, "retry", []string{"rate_limited", "max_wait", "transient"}, func(e pair, name, v string) (err error) {
		switch e.key {
		case "rate_limited":
			r.RateLimited, err = parseBool(name, v)
		case "transient":
			r.Transient, err = parseBool(name, v)
		default:
			r.MaxWait, err = parsePositiveDuration(name, v)
		}
		return err
	})
}

// rateLimit decodes rate_limit. A burst of 0 with rps set is given its
// default by the caller.
func (p *parser) rateLimit(pr pair, rl *RateLimit) error {
	return p.scalars(pr, "rate_limit", []string{"rps", "burst"}, func(e pair, name, v string) (err error) {
		if e.key == "rps" {
			rl.RPS, err = parseRPS(name, v)
			return err
		}
		n, err := parseInt(name, v, 0)
		rl.Burst = int(min(n, int64(maxInt)))
		return err
	})
}

// maxInt is the largest int, for clamping 64-bit numbers on 32-bit systems.
const maxInt = int(^uint(0) >> 1)
