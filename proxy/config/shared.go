package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of the shared section (docs/design.md#many-replicas).
const (
	// DefaultSharedKeyEnv is the environment variable holding the sealing
	// key when shared.key_env is not set.
	DefaultSharedKeyEnv = "NOTION_PROXY_SHARED_KEY"
	// DefaultSharedPrefix starts every Redis key and channel name.
	DefaultSharedPrefix = "notion-proxy:"
	// DefaultSharedTimeout bounds every Redis operation.
	DefaultSharedTimeout = 200 * time.Millisecond
)

// Shared configures the state that the replicas of one integration share
// through Redis or Valkey (docs/design.md#many-replicas). The zero Redis means off: one proxy
// needs no server. The section takes effect on restart.
type Shared struct {
	// Redis is a redis:// or rediss:// URL: host, optional port, optional
	// "/DB" and optional user:password (write ${NAME} to keep the password
	// out of the file; reserved characters such as / must then be
	// percent-escaped, so PasswordEnv is the easier way). It may hold a
	// secret: messages never show it. "" = shared mode off.
	Redis string
	// PasswordEnv names the environment variable holding Redis's password,
	// used as is (no escaping) and never put in the URL or logged. "" =
	// the URL's password, if any.
	PasswordEnv string
	// KeyEnv names the environment variable that holds the base64 of the
	// 32-byte AES-256-GCM key sealing tokens in Redis. Every replica uses
	// the same key; without it the shared mode refuses to start.
	KeyEnv string
	// Prefix starts every key and channel name, so one Redis can serve
	// several integrations (give each its own prefix).
	Prefix string
	// CA is the absolute path of an extra PEM bundle trusted, besides the
	// system roots, for a rediss:// server's certificate; "" = none.
	CA string
	// Timeout bounds each Redis operation: no call waits on Redis longer.
	Timeout time.Duration
}

// Enabled reports whether the shared mode is on.
func (s Shared) Enabled() bool { return s.Redis != "" }

// TLS reports whether the Redis URL asks for TLS (rediss://).
func (s Shared) TLS() bool { return strings.HasPrefix(s.Redis, "rediss://") }

// defaultShared is the shared section when the file says nothing.
func defaultShared() Shared {
	return Shared{KeyEnv: DefaultSharedKeyEnv, Prefix: DefaultSharedPrefix, Timeout: DefaultSharedTimeout}
}

// shared decodes the shared section. A ca with a redis:// (not rediss://)
// URL is an error at the ca key: the bundle would be ignored.
func (p *parser) shared(pr pair, s *Shared) error {
	var caAt, passwordEnvAt pair
	err := p.scalars(pr, "shared", []string{"redis", "password_env", "key_env", "prefix", "ca", "timeout"}, func(e pair, name, v string) (err error) {
		switch e.key {
		case "redis":
			s.Redis = v
			return checkRedisURL(v)
		case "password_env":
			s.PasswordEnv, passwordEnvAt = v, e
			if !isEnvName(v) {
				return fmt.Errorf("shared.password_env must be the name of an environment variable (letters, digits, _), not the password itself")
			}
		case "key_env":
			s.KeyEnv = v
			if !isEnvName(v) {
				return fmt.Errorf("shared.key_env must be the name of an environment variable (letters, digits, _), not the key itself")
			}
		case "prefix":
			s.Prefix = v
			if problem := secretProblem(v); problem != "" {
				return fmt.Errorf("shared.prefix %s", problem)
			}
		case "ca":
			s.CA, caAt = p.path(v), e
		case "timeout":
			s.Timeout, err = parsePositiveDuration(name, v)
		}
		return err
	})
	if err != nil {
		return err
	}
	if s.CA != "" && s.Redis != "" && !s.TLS() {
		return p.errAt(caAt.keyNode, "shared.ca is set but shared.redis is not a rediss:// URL: the bundle is only used for TLS")
	}
	if s.PasswordEnv != "" && urlHasPassword(s.Redis) {
		return p.errAt(passwordEnvAt.keyNode, "shared.password_env is set but shared.redis holds a password too: give the password one way (remove it from the URL)")
	}
	return nil
}

// urlHasPassword reports whether a valid Redis URL carries a password.
func urlHasPassword(v string) bool {
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		return false
	}
	pw, _ := u.User.Password()
	return pw != ""
}

// passwordHint is said after a Redis URL error when the URL seems to hold
// a password: base64 passwords often have a / that breaks the URL.
func passwordHint(v string) string {
	if !strings.Contains(v, "@") {
		return ""
	}
	return "; a password in the URL must have its reserved characters (/ ? # @ : % and spaces) percent-escaped, " +
		"or give it by shared.password_env (the name of an environment variable holding it) instead"
}

// checkRedisURL validates a Redis URL without ever showing it: it may hold
// a password.
func checkRedisURL(v string) error {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return fmt.Errorf("shared.redis is not a URL (write redis://host:6379/0 or rediss://host:6380/0)%s", passwordHint(v))
	case u.Scheme != "redis" && u.Scheme != "rediss":
		return fmt.Errorf("shared.redis must be a redis:// or rediss:// URL")
	case u.Opaque != "" || u.Hostname() == "":
		return fmt.Errorf("shared.redis must name a host, e.g. redis://redis:6379/0%s", passwordHint(v))
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return fmt.Errorf("shared.redis must not have a query or fragment (shared.timeout sets the timeout)")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("shared.redis: the port must be a number from 1 to 65535%s", passwordHint(v))
		}
	} else if _, _, err := net.SplitHostPort(u.Host); err == nil {
		return fmt.Errorf("shared.redis: the port must be a number from 1 to 65535")
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			return fmt.Errorf("shared.redis: the path must be a database number, e.g. /0%s", passwordHint(v))
		}
	}
	return nil
}
