package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/notion-proxy/notion-proxy/proxy"
	"github.com/notion-proxy/notion-proxy/proxy/admin"
	"github.com/notion-proxy/notion-proxy/proxy/config"
	"github.com/notion-proxy/notion-proxy/rewrite"
)

// cmdTokenSet reads a token from stdin (never argv, where ps shows it) and
// writes it into the config atomically, comments and layout kept. It
// refuses a config that does not exist (run writes the starter config),
// and a token that is already the profile's: if the proxy serving that
// config is paused on it, Notion rejected it, and it says so.
func cmdTokenSet(args []string, stdin io.Reader, stdout io.Writer) error {
	c := newSubcommand("token set", stdout)
	profile := c.fs.String("profile", "", "profile to set (default: the first)")
	if err := c.parse(args); err != nil {
		return err
	}
	path, why, err := c.absPath()
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no config at %s (%s): name yours with --config PATH, "+
			"or run `notion-proxy run` once to write a starter config there", path, why)
	}
	raw, err := io.ReadAll(io.LimitReader(stdin, 64<<10))
	if err != nil {
		return fmt.Errorf("read token from stdin: %w", err)
	}
	token := strings.TrimSpace(string(raw))
	if proxy.CheckToken(token) != nil {
		return errors.New("stdin must hold exactly one token (no spaces)")
	}
	if cfg, err := config.Load(path); err == nil {
		if p := findProfile(cfg, *profile); p != nil && p.Token == token {
			return sameToken(stdout, cfg, p.Name, token)
		}
	}
	if err := proxy.SetTokenInFile(path, *profile, token, os.Getenv); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "token %s written to %s\n", rewrite.Fingerprint(token), path)
	return nil
}

// findProfile returns the named profile of cfg (the first for ""), or nil.
func findProfile(cfg *config.Config, name string) *config.Profile {
	for i := range cfg.Profiles {
		if name == "" || cfg.Profiles[i].Name == name {
			return &cfg.Profiles[i]
		}
	}
	return nil
}

// sameToken answers a token set whose token is already the profile's
// inline token: writing it again would change nothing. If the proxy
// listening at cfg.Listen has the profile paused on this token, Notion
// rejected it: that is an error.
func sameToken(stdout io.Writer, cfg *config.Config, profile, token string) error {
	fp := rewrite.Fingerprint(token)
	if st, ok := proxyStatus(cfg.Listen); ok && st.Config == cfg.Path {
		for _, p := range st.Profiles {
			if p.Name == profile && p.State == "paused" && p.Token == fp {
				return fmt.Errorf("this token (%s) was rejected by Notion: the proxy at %s has profile %s paused on it. "+
					"Writing it again changes nothing: regenerate the token in Notion's integration settings "+
					"(https://www.notion.so/profile/integrations) and set the new one", fp, cfg.Listen, profile)
			}
		}
	}
	fmt.Fprintf(stdout, "token %s is already the token of profile %s in %s: nothing to change\n", fp, profile, cfg.Path)
	return nil
}

// proxyStatus asks the proxy listening at listen for GET /-/status; ok is
// false when none answers there (not running, or listen's port is 0).
func proxyStatus(listen string) (admin.Status, bool) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || port == "0" {
		return admin.Status{}, false
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1" // the admin endpoints answer loopback callers only
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Get("http://" + net.JoinHostPort(host, port) + "/-/status")
	if err != nil {
		return admin.Status{}, false
	}
	defer resp.Body.Close()
	var st admin.Status
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st) != nil {
		return admin.Status{}, false
	}
	return st, true
}
