// Package config parses and validates the notion-proxy YAML configuration
// file (docs/design.md#config-and-reloads) into a plain, typed Config. Everything downstream takes a
// *Config; nothing else reads YAML.
package config

import (
	"net/url"
	"time"
)

// DefaultPath is the config file used when neither --config nor
// NOTION_PROXY_CONFIG names one.
const DefaultPath = "notion-proxy.yaml"

// EnvPath is the environment variable that overrides DefaultPath.
const EnvPath = "NOTION_PROXY_CONFIG"

// Other-host policies for CONNECT and absolute-URI requests whose host is not
// the intercepted Notion host.
const (
	OtherHostsTunnel = "tunnel"
	OtherHostsDeny   = "deny"
)

// Config is one validated configuration. It is immutable once returned by
// Parse or Load: a reload builds a new Config and swaps it in whole.
type Config struct {
	// Path is the absolute path of the file this Config was read from
	// ("" when parsed from bytes with no path).
	Path string

	Listen        string   // host:port, default "127.0.0.1:8787"
	Upstream      *url.URL // default https://api.notion.com; never nil after Parse
	UpstreamCA    string   // absolute path of an extra PEM bundle, or ""
	CADir         string   // absolute; default: the directory of Path
	CADirLine     int      // line of ca_dir in the file, for messages; 0 = the default
	NotionVersion string   // default "2022-06-28"
	OtherHosts    string   // OtherHostsTunnel (default) or OtherHostsDeny
	ProxyAuth     string   // "user:password" or ""
	AdminToken    string   // "" = admin POSTs need no token (loopback only)
	Log           Log
	Pause         Pause
	MaxBodyBytes  int64 // default 52428800 (50 MiB)
	Retry         Retry
	RateLimit     RateLimit
	Notify        Notify // where events for a person go (notify.go)
	Shared        Shared // state shared with other replicas (shared.go)

	// AllowedHosts are the host names or IP addresses (lowercase, IPs in
	// canonical form, no port) that origin-form requests may name in Host
	// besides loopback, localhost, *.localhost and the host of Listen
	// (docs/design.md#browsers).
	AllowedHosts []string
	// CORS names the web origins that may call Notion through the proxy
	// from a browser.
	CORS CORS

	// Unset lists, in file order, the ${NAME} references whose variable was
	// unset or empty when the file was read: each read as "" (a key left
	// at its default, or text missing a part). Valid, but rarely meant:
	// check and run warn of each.
	Unset []UnsetVariable

	// Profiles has at least one entry. A config with no profiles and no
	// top-level token source gets one profile named "default" with no token
	// source: calls of it wait until a token is written (the starter config).
	Profiles []Profile
}

// UnsetVariable is one ${NAME} in the file whose variable was unset or
// empty, so it read as "".
type UnsetVariable struct {
	Name string // the variable, without ${ and }
	Key  string // the key whose value holds it, as messages name it ("listen", `profile "a": token`)
	Line int    // its line in the file
}

// Warning says what happened to the reference, for a person:
// "KEY: ${NAME} is not set: it reads as empty".
func (u UnsetVariable) Warning() string {
	return u.Key + ": ${" + u.Name + "} is not set: it reads as empty"
}

// CORS configures the browser origins allowed to use the proxy.
type CORS struct {
	// AllowedOrigins are exact origins, as browsers send them in Origin:
	// lowercase scheme://host[:port], no default port, no path.
	AllowedOrigins []string
}

// Log configures logging.
type Log struct {
	Level  string // trace|debug|info|warn|error; default "info"
	Format string // auto|json|console; default "auto"
}

// Pause configures how long and how many calls wait for a new token.
type Pause struct {
	Timeout   time.Duration // default 10m
	MaxQueued int           // default 10000
}

// Retry configures the retries of docs/design.md#retries-and-rate-limits.
type Retry struct {
	RateLimited bool          // default true
	MaxWait     time.Duration // default 60s
	Transient   bool          // default true
}

// RateLimit paces the outgoing calls of each profile. RPS 0 means off.
type RateLimit struct {
	RPS   float64
	Burst int
}

// Profile is one integration identity: a name, where its token comes from,
// and which incoming calls select it.
type Profile struct {
	Name string

	// Exactly one of the token sources below is set, except for the
	// implicit starter profile, which has none.
	Token        string   // inline token
	TokenFile    string   // absolute path of a file holding only the token
	TokenEnv     string   // environment variable holding the token
	TokenCommand []string // argv, run without a shell; stdout (trimmed) is the token
	OAuth        *OAuth   // public-integration OAuth refresh

	// Match lists incoming Bearer tokens or Proxy-Authorization user names
	// that select this profile.
	Match []string

	// Workspace labels the Notion workspace the profile's integration
	// belongs to ("" = none): a 429 naming the workspace limit holds every
	// profile with the same label (docs/design.md#the-rate-limit-scheduler).
	Workspace string

	// Line is the line of the profile in the file, for messages.
	Line int
}

// HasTokenSource reports whether the profile names any token source.
func (p *Profile) HasTokenSource() bool {
	return p.Token != "" || p.TokenFile != "" || p.TokenEnv != "" ||
		len(p.TokenCommand) > 0 || p.OAuth != nil
}

// OAuth holds a Notion public integration's OAuth credentials.
type OAuth struct {
	ClientID     string
	ClientSecret string
	RefreshToken string
	AccessToken  string // optional at first; kept current by the proxy
}
