package config

// StarterConfig returns the commented config file that notion-proxy writes on
// first run when no config file exists. It parses into one profile named
// "default" with no token source, so the proxy serves and calls wait until a
// token is written; it carries a commented-out "# token: ntn_..." line where
// the user pastes the token. Each call returns a new slice the caller owns.
func StarterConfig() []byte {
	return []byte(starterConfig)
}

const starterConfig = `# notion-proxy configuration, written on first run.
# Every key, with its default and meaning, is described in config.example.yaml.
#
# To start: copy your integration's token from Notion
# (https://www.notion.so/profile/integrations -> your integration ->
# "Internal Integration Secret"), paste it on the token line below in place
# of ntn_..., remove the "# " in front, and save this file. The running proxy
# picks it up at once; calls made before that wait for it.
# Or run: notion-proxy token set   (reads the token from stdin)
#
# token: ntn_...

# Address the proxy listens on. Point programs at it with
# HTTPS_PROXY=http://127.0.0.1:8787, or use http://127.0.0.1:8787 as the
# Notion API base URL. Changing it takes effect on restart.
listen: 127.0.0.1:8787

# Where Notion calls are sent.
upstream: https://api.notion.com

# Notion-Version header sent when a program sends none.
notion_version: "2022-06-28"

# Hosts other than Notion reached through the proxy: tunnel (passed through
# untouched, never given a token) or deny (answered 403).
other_hosts: tunnel

log:
  level: info     # trace | debug | info | warn | error
  format: auto    # auto | json | console

# While a token is being replaced, calls wait at most this long, then get
# Notion's original 401 answer.
pause:
  timeout: 10m
`
