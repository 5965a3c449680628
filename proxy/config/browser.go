package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The browser settings (docs/design.md#browsers): allowed_hosts and cors.allowed_origins.

// cors decodes the cors section.
func (p *parser) cors(pr pair, c *CORS) error {
	entries, err := p.section(pr, "cors")
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.key != "allowed_origins" {
			return p.unknownKey(e, "cors")
		}
		if c.AllowedOrigins, err = p.list(e, "cors.allowed_origins", canonicalOrigin); err != nil {
			return err
		}
	}
	return nil
}

// list decodes a list of single values, each checked and put in canonical
// form by canon; errors are at the offending item's line.
func (p *parser) list(pr pair, name string, canon func(string) (string, error)) ([]string, error) {
	if isNull(pr.val) {
		return nil, nil
	}
	if pr.val.Kind != yaml.SequenceNode {
		return nil, p.errAt(pr.keyNode, "%s must be a list, not a %s", name, kindName(pr.val))
	}
	var out []string
	for i, item := range pr.val.Content {
		v, err := p.scalar(resolve(item), item, fmt.Sprintf("%s[%d]", name, i))
		if err != nil {
			return nil, err
		}
		c, err := canon(v)
		if err != nil {
			return nil, p.errAt(item, "%s[%d]: %v", name, i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// canonicalHost checks an allowed_hosts entry: a host name or an IP
// address, with no scheme, port, path or wildcard. It returns it
// lowercase, an IP address in canonical form.
func canonicalHost(v string) (string, error) {
	if ip, err := netip.ParseAddr(strings.Trim(v, "[]")); err == nil && ip.Zone() == "" {
		return ip.String(), nil
	}
	switch {
	case v == "":
		return "", fmt.Errorf("is empty")
	case strings.Contains(v, "://"):
		return "", fmt.Errorf("%s: write a host name without a scheme (e.g. notion-proxy.internal)", shown(v))
	case strings.Contains(v, "*"):
		return "", fmt.Errorf("%s: wildcards are not supported: list each host name", shown(v))
	case strings.Contains(v, ":"):
		return "", fmt.Errorf("%s: write the host without a port (every port of the host is allowed)", shown(v))
	case strings.ContainsAny(v, "/?#"):
		return "", fmt.Errorf("%s: write a host name without a path", shown(v))
	case !isHostName(v):
		return "", fmt.Errorf("%s is not a host name or IP address", shown(v))
	}
	return strings.ToLower(v), nil
}

// isHostName reports whether v is a DNS name: dot-separated labels of
// letters, digits, '-' and '_', none empty or longer than 63.
func isHostName(v string) bool {
	if len(v) > 253 {
		return false
	}
	for _, label := range strings.Split(v, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// canonicalOrigin checks a cors.allowed_origins entry: scheme://host[:port]
// with scheme http or https, no path (not even "/"), query, user or
// wildcard. It returns the origin as a browser sends it: lowercase, the
// default port of the scheme dropped.
func canonicalOrigin(v string) (string, error) {
	const example = " (e.g. http://localhost:5173)"
	if v == "" {
		return "", fmt.Errorf("is empty")
	}
	if strings.Contains(v, "*") {
		return "", fmt.Errorf("%s: wildcards are not allowed: list each origin exactly", shown(v))
	}
	if v == "null" {
		return "", fmt.Errorf(`"null" is not allowed: it is the origin of sandboxed pages and files, which any page can be`)
	}
	u, err := url.Parse(v)
	switch {
	case err != nil || u.Opaque != "":
		return "", fmt.Errorf("%s is not an origin scheme://host[:port]"+example, shown(v))
	case u.Scheme != "http" && u.Scheme != "https": // url.Parse lowercases the scheme
		return "", fmt.Errorf("%s: the scheme must be http or https"+example, shown(v))
	case u.User != nil:
		return "", fmt.Errorf("%s: an origin has no user name or password", shown(v))
	case u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("%s: an origin has no path, trailing slash, query or fragment"+example, shown(v))
	case u.Hostname() == "":
		return "", fmt.Errorf("%s names no host"+example, shown(v))
	}
	scheme := u.Scheme
	host := strings.ToLower(u.Hostname())
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return "", fmt.Errorf("%s: an origin has no IPv6 zone", shown(v))
		}
		host = ip.String()
	} else if !isHostName(host) {
		return "", fmt.Errorf("%s: %s is not a host name or IP address", shown(v), shown(host))
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := u.Port()
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("%s: port must be a number from 1 to 65535", shown(v))
		}
		if scheme == "http" && n == 80 || scheme == "https" && n == 443 {
			port = ""
		} else {
			port = strconv.Itoa(n)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return "", fmt.Errorf("%s: empty port", shown(v))
	}
	if port != "" {
		return scheme + "://" + host + ":" + port, nil
	}
	return scheme + "://" + host, nil
}
