package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// secretProblem says what is wrong with a token or another credential that is
// sent as-is in a header, or "" when nothing is. It never looks at prefixes:
// tokens are opaque ("secret_…" and "ntn_…" both exist). The answer never
// contains the value.
func secretProblem(v string) string {
	switch {
	case v == "":
		return "is empty"
	case !utf8.ValidString(v):
		return "is not valid UTF-8"
	case strings.IndexFunc(v, unicode.IsSpace) >= 0:
		return "contains whitespace"
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return "contains a control character"
	}
	return ""
}

// SecretProblem is the check every token passes, wherever it comes from
// (inline, token_env, token_file, a token_command's output): what is wrong
// with v, or "" when nothing is. The answer never contains the value.
func SecretProblem(v string) string { return secretProblem(v) }

// checkListen validates a host:port listen address with a numeric port.
func checkListen(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("listen %s is not host:port (e.g. 127.0.0.1:8787)", shown(v))
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("listen %s: port must be a number from 0 to 65535", shown(v))
	}
	return nil
}

// isLoopback reports whether a valid listen address only accepts connections
// from this machine: "localhost", 127.0.0.0/8 or ::1. An empty host (all
// interfaces) is not loopback.
func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseUpstream validates the upstream base URL: absolute http or https, a
// host, no user info, query or fragment, and a path of "" or "/". The result
// has no trailing slash.
func parseUpstream(v string) (*url.URL, error) {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return nil, fmt.Errorf("upstream is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("upstream must be an http:// or https:// URL")
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("upstream must name a host, e.g. https://api.notion.com")
	case u.User != nil:
		return nil, fmt.Errorf("upstream must not contain a user name or password")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("upstream must not have a query or fragment")
	case u.Path != "" && u.Path != "/":
		return nil, fmt.Errorf("upstream must not have a path (the proxy keeps each call's own path)")
	}
	u.Path, u.RawPath = "", ""
	return u, nil
}

// checkProxyAuth validates "user:password" without echoing it.
func checkProxyAuth(v string) error {
	user, _, ok := strings.Cut(v, ":")
	if !ok || user == "" {
		return fmt.Errorf("proxy_auth must be user:password with a non-empty user")
	}
	if strings.IndexFunc(v, unicode.IsControl) >= 0 || !utf8.ValidString(v) {
		return fmt.Errorf("proxy_auth must not contain control characters")
	}
	return nil
}

// parsePositiveDuration parses a Go duration string ("10m", "90s") that must
// be greater than zero.
func parsePositiveDuration(name, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %s is not a duration (use a unit, e.g. 10m, 30s, 1h)", name, shown(v))
	}
	if d <= 0 {
		return 0, fmt.Errorf("%s must be positive", name)
	}
	return d, nil
}

// parseInt parses a base-10 integer of at least min.
func parseInt(name, v string, min int64) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %s is not a whole number", name, shown(v))
	}
	if n < min {
		return 0, fmt.Errorf("%s must be at least %d", name, min)
	}
	return n, nil
}

// parseRPS parses a finite, non-negative rate.
func parseRPS(name, v string) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s: %s is not a number", name, shown(v))
	}
	if f < 0 {
		return 0, fmt.Errorf("%s must be 0 (off) or more", name)
	}
	return f, nil
}

// defaultBurst is the burst used when rate_limit.rps is set and burst is 0:
// one second's worth of calls, at least 1.
func defaultBurst(rps float64) int {
	b := math.Ceil(rps)
	if b > math.MaxInt32 {
		return math.MaxInt32
	}
	return max(1, int(b))
}

// parseBool accepts YAML 1.2's spellings of true and false.
func parseBool(name, v string) (bool, error) {
	switch v {
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	}
	return false, fmt.Errorf("%s must be true or false", name)
}

// oneOf checks v against the allowed values of an enumerated setting.
func oneOf(name, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%s: %s is not one of %s", name, shown(v), strings.Join(allowed, ", "))
}
