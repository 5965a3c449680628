package config

import (
	"strings"
	"testing"
)

// TestParseErrors checks every validation error: its line, its message, and
// that no secret from the file leaks into it. Secrets in these inputs all
// contain "SECRET".
func TestParseErrors(t *testing.T) {
	long := "ntn_" + strings.Repeat("SECRET", 8)
	tests := []struct {
		name string
		src  string
		line int
		msg  string
	}{
		// The document as a whole.
		{"an empty file is an error", "", 0, "config is empty"},
		{"a file of only comments is an error", "# token: ntn_...\n# listen: x\n", 0, "config is empty"},
		{"a document with only --- is an error", "---\n", 0, "config is empty"},
		{"a null document is an error", "~\n", 0, "config is empty"},
		{"a top-level list is an error", "- listen\n- token\n", 1, "must be a mapping of keys to values, not a list"},
		{"a top-level single value is an error", "ntn_SECRET\n", 1, "must be a mapping of keys to values, not a single value"},
		{"a second document is an error", "listen: 127.0.0.1:1\n---\nlisten: 127.0.0.1:2\n", 2, "single YAML document"},
		{"an unclosed list is an error at its line", "listen: 127.0.0.1:1\npause:\n  timeout: [1m\n", 3, "invalid YAML: did not find expected ',' or ']'"},
		{"a bad indent is an error at its line", "listen: 127.0.0.1:1\nlog:\n  level: info\n format: json\n", 4, "invalid YAML: did not find expected key"},
		{"a stray colon is an error at its line", "listen: 127.0.0.1:1\ntoken: a: b\n", 2, "invalid YAML: mapping values are not allowed"},
		{"an unclosed quote is an error at its line, in plain words", "listen: 127.0.0.1:1\ntoken: \"abc\n", 2, `invalid YAML: the quoted value that starts on this line has no closing "`},
		{"an unclosed quote on line 1 is an error at line 1, not at the end", "listen: \"127.0.0.1:1\nupstream: x\nlog: {}\n", 1, `has no closing "`},
		{"an unclosed single quote names it", "listen: 127.0.0.1:1\n\nupstream: 'abc\nlog: {}\n", 3, "has no closing '"},
		{"an unclosed quote in a list is an error at its line", "token_command:\n  - op\n  - \"read\n", 3, `has no closing "`},
		{"a list item followed by a key is an error at the key", "- a\nb: c\n", 2, "invalid YAML: did not find expected '-' indicator"},
		{"a parser error on line 1 has line 1", "{a: 1]\n", 1, "invalid YAML: did not find expected ',' or '}'"},
		{"a tab indent is an error with its line, in plain words", "log:\n\tlevel: info\n", 2, "invalid YAML: this line is indented with a tab: YAML indents with spaces only"},
		{"a tab indent on line 1 is an error at line 1", "\tlisten: 127.0.0.1:1\n", 1, "indented with a tab"},
		{"a tab indent below a nested value is an error at the tab's line", "log:\n  level: info\n\tformat: json\n", 3, "indented with a tab"},
		{"a tab before a list item is an error at its line", "token_command:\n\t- op\n", 2, "indented with a tab"},
		{"a character that cannot start a value keeps yaml's words", "listen: 127.0.0.1:1\ntoken: @x\n", 2, "found character that cannot start any token"},

		// Keys.
		{"an unknown top-level key is an error", "listen: 127.0.0.1:1\nlistne: x\n", 2, `unknown key "listne"`},
		{"an unknown key in log is an error", "log:\n  level: info\n  colour: no\n", 3, `unknown key "colour" in log`},
		{"an unknown key in pause is an error", "pause:\n  timout: 1m\n", 2, `unknown key "timout" in pause`},
		{"an unknown key in retry is an error", "retry: {max_wait: 1s, on_500: true}\n", 1, `unknown key "on_500" in retry`},
		{"an unknown key in rate_limit is an error", "rate_limit:\n  rate: 3\n", 2, `unknown key "rate" in rate_limit`},
		{"an unknown key in a profile is an error", lines("profiles:", "  - name: a", "    token: ntn_SECRET", "    tokne: x"), 4, `unknown key "tokne" in profile "a"`},
		{"an unknown key in oauth is an error", lines("oauth:", "  client_id: a", "  client_secret: SECRET", "  refresh_token: SECRET", "  scope: x"), 5, `unknown key "scope" in oauth`},
		{"match at the top level is an unknown key", "token: ntn_SECRET\nmatch: [a]\n", 2, `unknown key "match"`},
		{"name at the top level is an unknown key", "name: default\ntoken: ntn_SECRET\n", 1, `unknown key "name"`},
		{"a long unknown key is not shown, as it may be a pasted token", "listen: 127.0.0.1:1\n" + long + ": x\n", 2, "unknown key (52 characters, not shown)"},
		{"a key given twice is an error", "listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n", 2, `duplicate key "listen" (first at line 1)`},
		{"a duplicate key in a profile is an error", lines("profiles:", "  - name: a", "    name: b", "    token: x"), 3, `duplicate key "name" (first at line 2)`},
		{"a list as a key is an error", "? [a, b]\n: c\n", 1, "a key must be a single value"},
		{"a merge key is an error", "log: &b {level: info}\npause:\n  <<: *b\n", 3, "merge keys (<<) are not supported"},

		// Single settings.
		{"listen without a port is an error", "listen: localhost\n", 1, "is not host:port"},
		{"listen with a named port is an error", "listen: localhost:http\n", 1, "port must be a number"},
		{"listen with a port out of range is an error", "listen: 127.0.0.1:70000\n", 1, "port must be a number"},
		{"a public listen without proxy_auth is an error", "log: {level: info}\nlisten: 0.0.0.0:8787\n", 2, "listen 0.0.0.0:8787 is not loopback: set proxy_auth"},
		{"listening on all interfaces without proxy_auth is an error", "listen: ':8787'\n", 1, "listen :8787 is not loopback: set proxy_auth"},
		{"a LAN listen with an empty proxy_auth is an error", "listen: 192.168.1.5:8787\nproxy_auth: ${UNSET}\n", 1, "is not loopback: set proxy_auth"},
		{"proxy_auth without a colon is an error", "proxy_auth: SECRETuser\n", 1, "proxy_auth must be user:password"},
		{"proxy_auth with an empty user is an error", "proxy_auth: ':SECRET'\n", 1, "non-empty user"},
		{"an upstream with another scheme is an error", "upstream: ftp://api.notion.com\n", 1, "http:// or https://"},
		{"a relative upstream is an error", "upstream: api.notion.com\n", 1, "http:// or https://"},
		{"an upstream without a host is an error", "upstream: 'https://'\n", 1, "must name a host"},
		{"an upstream with a path is an error", "upstream: https://api.notion.com/v1\n", 1, "must not have a path"},
		{"an upstream with a query is an error", "upstream: https://api.notion.com/?x=1\n", 1, "query or fragment"},
		{"an upstream with a password is an error", "upstream: https://u:SECRET@api.notion.com\n", 1, "must not contain a user name or password"},
		{"a notion_version with spaces is an error", "notion_version: 2022 06 28\n", 1, "notion_version contains whitespace"},
		{"an unknown other_hosts is an error", "other_hosts: block\n", 1, `other_hosts: "block" is not one of tunnel, deny`},
		{"an admin_token with spaces is an error", "admin_token: 'SECRET x'\n", 1, "admin_token contains whitespace"},
		{"a number as admin_token is an error", "admin_token: 12345\n", 1, "admin_token is a number, not text; quote it if it really is the admin token"},
		{"a boolean as admin_token is an error", "token: ntn_x\nadmin_token: true\n", 2, "admin_token is true or false, not text"},
		{"an unknown log level is an error", "log:\n  level: verbose\n", 2, `log.level: "verbose" is not one of trace, debug, info, warn, error`},
		{"an unknown log format is an error", "log:\n  format: xml\n", 2, "log.format"},
		{"log as a single value is an error", "log: debug\n", 1, "log must be a mapping, not a single value"},
		{"a duration without a unit is an error", "pause:\n  timeout: 600\n", 2, `pause.timeout: "600" is not a duration`},
		{"a zero duration is an error", "pause:\n  timeout: 0s\n", 2, "pause.timeout must be positive"},
		{"a negative duration is an error", "retry:\n  max_wait: -1m\n", 2, "retry.max_wait must be positive"},
		{"max_queued of 0 is an error", "pause: {max_queued: 0}\n", 1, "pause.max_queued must be at least 1"},
		{"a max_queued that is not a number is an error", "pause: {max_queued: lots}\n", 1, "is not a whole number"},
		{"max_body_bytes of 0 is an error", "max_body_bytes: 0\n", 1, "max_body_bytes must be at least 1"},
		{"max_body_bytes with a unit is an error", "max_body_bytes: 50MB\n", 1, "is not a whole number"},
		{"a retry flag that is not a boolean is an error", "retry:\n  rate_limited: maybe\n", 2, "retry.rate_limited must be true or false"},
		{"a negative rps is an error", "rate_limit: {rps: -1}\n", 1, "rate_limit.rps must be 0 (off) or more"},
		{"an rps that is not a number is an error", "rate_limit: {rps: fast}\n", 1, "is not a number"},
		{"an infinite rps is an error", "rate_limit: {rps: Inf}\n", 1, "is not a number"},
		{"a negative burst is an error", "rate_limit: {rps: 1, burst: -1}\n", 1, "rate_limit.burst must be at least 0"},
		{"a list where a value belongs is an error", "listen: [127.0.0.1, 8787]\n", 1, "listen must be a single value, not a list"},
		{"a malformed ${ is an error", "listen: ${LISTEN\n", 1, "malformed ${...}"},

		// Token sources.
		{"an empty token is an error", `token: ""` + "\n", 1, "token is empty"},
		{"a token with no value is an error", "listen: 127.0.0.1:1\ntoken:\n", 2, "token is empty"},
		{"a token from an unset variable is an error naming it", "token: ${UNSET}\n", 1, "token is empty: ${UNSET} is not set"},
		{"a token_file from unset variables names them", "token_file: ${UNSET_DIR}${UNSET}\n", 1, "token_file is empty: ${UNSET_DIR}, ${UNSET} are not set"},
		{"a profile token from an unset variable names it", lines("profiles:", "  - name: a", "    token: ${NOTION_TOKEN}"), 3, `profile "a": token is empty: ${NOTION_TOKEN} is not set`},
		{"an oauth secret from an unset variable names it", lines("oauth:", "  client_id: a", "  client_secret: ${CLIENT_KEY}", "  refresh_token: r"), 3, "oauth.client_secret is empty: ${CLIENT_KEY} is not set"},
		{"a match value from an unset variable names it", lines("profiles:", "  - name: a", "    token: x", "    match:", "      - ${TEAM}"), 5, `match[0] is empty: ${TEAM} is not set`},
		{"a token_command program from an unset variable names it", "token_command:\n  - ${OP}\n  - read\n", 2, "is empty: ${OP} is not set"},
		{"a number where a token belongs is an error", "token: 12345\n", 1, "token is a number, not a token"},
		{"a float where a token belongs is an error", "token: 1e5\n", 1, "token is a number"},
		{"a boolean where a token belongs is an error", "token: true\n", 1, "token is true or false"},
		{"a number in a profile's token is an error", lines("profiles:", "  - name: a", "    token: 0x1F"), 3, `profile "a": token is a number`},
		{"a number as an oauth refresh_token is an error", lines("oauth:", "  client_id: a", "  client_secret: s", "  refresh_token: 42"), 4, "oauth.refresh_token is a number"},
		{"a token with a space is an error", "token: ntn_SECRET more\n", 1, "token contains whitespace"},
		{"a token with a trailing newline is an error", "token: \"ntn_SECRET\\n\"\n", 1, "token contains whitespace"},
		{"a token with a control character is an error", "token: \"ntn_SECRET\\x01\"\n", 1, "token contains a control character"},
		{"two top-level token sources are an error", "token: ntn_SECRET\ntoken_env: NOTION_TOKEN\n", 2, "token and token_env are both set: use exactly one token source"},
		{"a top-level token with profiles is an error", lines("profiles:", "  - name: a", "    token_env: A", "token: ntn_SECRET"), 4, "top-level token and profiles are both set"},
		{"an empty profiles list is an error", "profiles: []\n", 1, "profiles is empty"},
		{"profiles with no value is an error", "profiles:\n", 1, "profiles is empty"},
		{"profiles as a mapping is an error", "profiles:\n  a: {token: x}\n", 1, "profiles must be a list"},
		{"a profile that is not a mapping is an error", "profiles:\n  - default\n", 2, "profiles[0] must be a mapping"},
		{"a profile without a name is an error", lines("profiles:", "  - name: a", "    token: x", "  - token: ntn_SECRET"), 4, "profiles[1] has no name"},
		{"a profile with an empty name is an error", lines("profiles:", "  - token: ntn_SECRET", "    name: ''"), 3, "profiles[0]: name is empty"},
		{"two profiles with one name are an error", lines("profiles:", "  - name: a", "    token: x", "  - name: a", "    token: y"), 4, `duplicate profile name "a" (first at line 2)`},
		{"a profile without a token source is an error", lines("profiles:", "  - name: a", "    match: [x]"), 2, `profile "a" has no token source`},
		{"a profile with two token sources is an error", lines("profiles:", "  - name: a", "    token_file: f", "    token: ntn_SECRET"), 4, `profile "a": token_file and token are both set`},
		{"an empty token in a profile is an error", lines("profiles:", "  - name: a", "    token: ''"), 3, `profile "a": token is empty`},
		{"a token with whitespace in a profile is an error", lines("profiles:", "  - name: a", "    token: ' ntn_SECRET'"), 3, `profile "a": token contains whitespace`},
		{"an empty token_file is an error", "token_file: ''\n", 1, "token_file is empty"},
		{"an empty token_env is an error", "token_env:\n", 1, "token_env is empty"},
		{"a token pasted into token_env is an error that does not show it", "token_env: ntn_SECRET-x.y\n", 1, "token_env must be the name of an environment variable"},
		{"token_command as a string is an error", "token_command: op read x\n", 1, "token_command must be a list of strings"},
		{"an empty token_command is an error", "token_command: []\n", 1, "token_command is empty"},
		{"a token_command with an empty program is an error", "token_command:\n  - ''\n  - x\n", 2, "token_command[0], the program to run, is empty"},
		{"a token_command with a nested list is an error", "token_command: [op, [a]]\n", 1, "token_command[1] must be a single value"},
		{"oauth without refresh_token is an error", "listen: 127.0.0.1:1\noauth: {client_id: a, client_secret: SECRET}\n", 2, "oauth.refresh_token is missing"},
		{"oauth with no value is an error", "oauth:\n", 1, "oauth.client_id is missing"},
		{"oauth as a single value is an error", "oauth: SECRET\n", 1, "oauth must be a mapping"},
		{"an oauth client_secret with whitespace is an error", lines("oauth:", "  client_id: a", "  client_secret: SECRET SECRET", "  refresh_token: r"), 3, "oauth.client_secret contains whitespace"},
		{"an empty oauth client_id is an error", lines("oauth:", "  client_id: ''", "  client_secret: SECRET", "  refresh_token: r"), 2, "oauth.client_id is empty"},
		{"an oauth access_token with whitespace is an error", lines("profiles:", "  - name: p", "    oauth:", "      client_id: a", "      client_secret: SECRET", "      refresh_token: r", "      access_token: 'SECRET '"), 7, `profile "p": oauth.access_token contains whitespace`},
		{"match as a single value is an error", lines("profiles:", "  - name: a", "    token: x", "    match: SECRET"), 4, `profile "a": match must be a list`},
		{"an empty match value is an error", lines("profiles:", "  - name: a", "    token: x", "    match:", "      - SECRET", "      - ''"), 6, `profile "a": match[1] is empty`},
		{"an empty workspace is an error", lines("profiles:", "  - name: a", "    token: x", "    workspace: ''"), 4, `profile "a": workspace is empty`},
		{"a workspace that is a list is an error", lines("profiles:", "  - name: a", "    token: x", "    workspace: [w]"), 4, `profile "a": workspace must be a single value`},
		{"a workspace at the top level is an unknown key", "token: ntn_SECRET\nworkspace: w\n", 2, `unknown key "workspace"`},
		{"a match value of two profiles is an error", lines("profiles:", "  - name: a", "    token: x", "    match: [SECRET]", "  - name: b", "    token: y", "    match: [SECRET]"), 7, `profile "b": match[0] already selects profile "a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantParseError(t, tt.src, map[string]string{"LISTEN": "x"}, tt.line, tt.msg)
		})
	}
}

func TestParseAllowsWhatTokensLookLike(t *testing.T) {
	for _, tok := range []string{"ntn_1234567890abcdefABCDEF", "secret_abcDEF123", "plain", `"12345"`, "'true'", "Bearer-like.token/with+chars="} {
		t.Run("the token "+tok+" is accepted without a prefix check", func(t *testing.T) {
			want := strings.Trim(tok, `"'`)
			if got := mustParse(t, "token: "+tok+"\n", nil).Profiles[0].Token; got != want {
				t.Errorf("Token = %q, want %q", got, want)
			}
		})
	}
}

func TestAQuotedNumberIsAnAdminToken(t *testing.T) {
	if got := mustParse(t, "admin_token: \"12345\"\n", nil).AdminToken; got != "12345" {
		t.Errorf("AdminToken = %q, want 12345", got)
	}
}
