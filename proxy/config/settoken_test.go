package config

import (
	"strings"
	"testing"
)

// TestSetTokenSplices checks the exact output for each case: only the token's
// text changes or one line is added; comments and everything else stay.
func TestSetTokenSplices(t *testing.T) {
	const tok = "ntn_NEW123"
	tests := []struct {
		name    string
		in      string
		profile string
		token   string
		want    string
	}{
		{
			name: "a shorthand token is replaced in place",
			in: lines(
				"# my proxy",
				"listen: 127.0.0.1:8787   # local only",
				"",
				"# the integration token",
				"token: ntn_old   # rotated monthly",
				"log: {level: debug}",
			),
			want: lines(
				"# my proxy",
				"listen: 127.0.0.1:8787   # local only",
				"",
				"# the integration token",
				"token: ntn_NEW123   # rotated monthly",
				"log: {level: debug}",
			),
		},
		{
			name: "a double-quoted token stays double-quoted",
			in:   "token: \"secret_old\"\n# end\n",
			want: "token: \"ntn_NEW123\"\n# end\n",
		},
		{
			name: "a single-quoted token stays single-quoted",
			in:   "token: 'secret_old' # x\n",
			want: "token: 'ntn_NEW123' # x\n",
		},
		{
			name: "an empty shorthand token gets a value",
			in:   "token:\nlisten: 127.0.0.1:1\n",
			want: "token: ntn_NEW123\nlisten: 127.0.0.1:1\n",
		},
		{
			name:  "a token needing quotes is double-quoted",
			in:    "token: old\n",
			token: "a#b:c'd\"e",
			want:  "token: \"a#b:c'd\\\"e\"\n",
		},
		{
			name:  "a token containing ${ is escaped so it reads back verbatim",
			in:    "token: 'old'\n",
			token: "x${HOME}",
			want:  "token: 'x$${HOME}'\n",
		},
		{
			name: "the starter config gets a token line below the hint",
			in: lines(
				"# paste below",
				"# token: ntn_...",
				"",
				"listen: 127.0.0.1:8787",
			),
			want: lines(
				"# paste below",
				"# token: ntn_...",
				"token: ntn_NEW123",
				"",
				"listen: 127.0.0.1:8787",
			),
		},
		{
			name: "a config without token or hint gets a token line at the end",
			in:   "listen: 127.0.0.1:8787\n# trailing comment\n",
			want: "listen: 127.0.0.1:8787\n# trailing comment\ntoken: ntn_NEW123\n",
		},
		{
			name: "a file without a final newline gets one before the added line",
			in:   "listen: 127.0.0.1:8787",
			want: "listen: 127.0.0.1:8787\ntoken: ntn_NEW123\n",
		},
		{
			name: "CRLF line endings are kept",
			in:   "# hint\r\n# token: ntn_...\r\nlisten: 127.0.0.1:1\r\n",
			want: "# hint\r\n# token: ntn_...\r\ntoken: ntn_NEW123\r\nlisten: 127.0.0.1:1\r\n",
		},
		{
			name:    "a named profile's token is replaced and the others are left alone",
			profile: "work",
			in: lines(
				"profiles:",
				"  # first",
				"  - name: home",
				"    token: ntn_home",
				"  # second",
				"  - name: work",
				"    token: ntn_work # old",
				"    match: [w]",
			),
			want: lines(
				"profiles:",
				"  # first",
				"  - name: home",
				"    token: ntn_home",
				"  # second",
				"  - name: work",
				"    token: ntn_NEW123 # old",
				"    match: [w]",
			),
		},
		{
			name: "no profile name means the first profile",
			in:   "profiles:\n  - name: a\n    token: x\n  - name: b\n    token: y\n",
			want: "profiles:\n  - name: a\n    token: ntn_NEW123\n  - name: b\n    token: y\n",
		},
		{
			name:    "a profile without a token source gets a token line after its name",
			profile: "b",
			in:      "profiles:\n  - name: a\n    token: x\n  - name: b\n    match: [m]\n",
			want:    "profiles:\n  - name: a\n    token: x\n  - name: b\n    token: ntn_NEW123\n    match: [m]\n",
		},
		{
			name:    "a last profile with only a name gets a token line",
			profile: "b",
			in:      "profiles:\n  - name: a\n    token: x\n  - name: b",
			want:    "profiles:\n  - name: a\n    token: x\n  - name: b\n    token: ntn_NEW123\n",
		},
		{
			name:    "a flow-style profile is edited in place",
			profile: "é",
			in:      "profiles:\n  - {name: é, token: old, match: [x]}  # flow\n",
			want:    "profiles:\n  - {name: é, token: ntn_NEW123, match: [x]}  # flow\n",
		},
		{
			name: "a flow-style top level gets the token as a last entry",
			in:   "{listen: \"127.0.0.1:1\"}  # flow\n",
			want: "{listen: \"127.0.0.1:1\", token: ntn_NEW123}  # flow\n",
		},
		{
			name:    "a flow-style profile without a token source gets one after its name",
			profile: "b",
			in:      "profiles:\n  - {name: a, token: x}\n  - {name: b, match: [m]}  # b\n",
			want:    "profiles:\n  - {name: a, token: x}\n  - {name: b, token: ntn_NEW123, match: [m]}  # b\n",
		},
		{
			name: "a byte order mark is kept",
			in:   "\xef\xbb\xbftoken: old\n",
			want: "\xef\xbb\xbftoken: ntn_NEW123\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.token
			if token == "" {
				token = tok
			}
			out, err := SetToken([]byte(tt.in), tt.profile, token)
			if err != nil {
				t.Fatalf("SetToken: %v", err)
			}
			if string(out) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", out, tt.want)
			}
			cfg := mustParse(t, string(out), map[string]string{"HOME": "/home/x"})
			name := tt.profile
			if name == "" {
				name = cfg.Profiles[0].Name
			}
			for _, p := range cfg.Profiles {
				if p.Name == name && p.Token != token {
					t.Errorf("profile %q token = %q, want %q", name, p.Token, token)
				}
			}
		})
	}
}

func TestSetTokenStarterConfig(t *testing.T) {
	out, err := SetToken(StarterConfig(), "", "ntn_starter")
	if err != nil {
		t.Fatal(err)
	}
	cfg := mustParse(t, string(out), nil)
	t.Run("the starter config gets the token as its default profile", func(t *testing.T) {
		if len(cfg.Profiles) != 1 || cfg.Profiles[0].Name != "default" || cfg.Profiles[0].Token != "ntn_starter" {
			t.Errorf("profiles = %+v", cfg.Profiles)
		}
	})
	t.Run("every line of the starter config is still there, in order", func(t *testing.T) {
		got := strings.Replace(string(out), "token: ntn_starter\n", "", 1)
		if got != string(StarterConfig()) {
			t.Errorf("output minus the token line differs from the starter config:\n%s", out)
		}
	})
	t.Run("the profile name default also selects it", func(t *testing.T) {
		out2, err := SetToken(out, "default", "ntn_second")
		if err != nil {
			t.Fatal(err)
		}
		if got := mustParse(t, string(out2), nil).Profiles[0].Token; got != "ntn_second" {
			t.Errorf("Token = %q", got)
		}
		if strings.Count(string(out2), "\ntoken:") != 1 {
			t.Errorf("token line added twice:\n%s", out2)
		}
	})
}

func TestSetTokenReencodesWhenItCannotSplice(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"a flow-style top level ending in a nested mapping is re-encoded", "{listen: \"127.0.0.1:1\", log: {level: info}} # note\n"},
		{"a multi-line plain token is re-encoded", "token: abc\n  def\n# note\n"},
		{"a block scalar token is re-encoded", "token: |\n  abc\n# note\n"},
		{"a tagged token is re-encoded", "token: !!str abc # note\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := SetToken([]byte(tt.in), "", "ntn_re")
			if err != nil {
				t.Fatal(err)
			}
			if got := mustParse(t, string(out), nil).Profiles[0].Token; got != "ntn_re" {
				t.Errorf("Token = %q\n%s", got, out)
			}
			if strings.Contains(tt.in, "# note") && !strings.Contains(string(out), "# note") {
				t.Errorf("comment lost:\n%s", out)
			}
		})
	}
}

func TestSetTokenErrors(t *testing.T) {
	profiles := sourceProfiles()
	tests := []struct {
		name    string
		in      string
		profile string
		token   string
		line    int
		msg     string
	}{
		{"a profile using token_file is refused", profiles, "file", "", 3, `profile "file" takes its token from token_file`},
		{"a profile using token_env is refused", profiles, "env", "", 5, `profile "env" takes its token from token_env`},
		{"a profile using token_command is refused", profiles, "cmd", "", 7, `profile "cmd" takes its token from token_command`},
		{"a profile using oauth is refused", profiles, "public", "", 9, `profile "public" takes its token from oauth`},
		{"the first profile is used when no name is given", profiles, "", "", 3, "token_file"},
		{"an unknown profile is refused with the known names", profiles, "nope", "", 0, `profile "nope" not found; the profiles are "file", "env", "cmd", "public", "inline"`},
		{"a shorthand config has only the default profile", "token: x\n", "work", "", 0, `profile "work" not found: this config has only the profile "default"`},
		{"a shorthand token_env is refused", "token_env: X\n", "", "", 1, `profile "default" takes its token from token_env`},
		{"an empty token is refused", "token: x\n", "", "", 0, "token is empty"},
		{"a token with whitespace is refused", "token: x\n", "", "ntn_SECRET more", 0, "token contains whitespace"},
		{"a token with a newline is refused", "token: x\n", "", "ntn_SECRET\n", 0, "token contains whitespace"},
		{"a token with a control character is refused", "token: x\n", "", "ntn_SECRET\x00", 0, "token contains a control character"},
		{"a token that is not UTF-8 is refused", "token: x\n", "", "ntn_SECRET\xff", 0, "token is not valid UTF-8"},
		{"an empty file is refused", "", "", "", 0, "config is empty"},
		{"broken YAML is refused with its line", "listen: x\ntoken: [\n", "", "", 2, "invalid YAML"},
		{"a top-level list is refused", "- a\n", "", "", 1, "must be a mapping"},
		{"an anchored token is refused", "token: &t x\nprofiles_alias: *t\n", "", "", 1, "not a plain value"},
		{"two token keys are refused", "profiles:\n  - name: a\n    token: x\n    token: y\n", "a", "", 4, "duplicate key"},
		{"an empty profiles list is refused", "profiles: []\n", "", "", 1, "profiles is not a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.token
			if tt.token == "" && !strings.Contains(tt.name, "empty token") {
				token = "ntn_SECRET"
			}
			_, err := SetToken([]byte(tt.in), tt.profile, token)
			checkEditError(t, err, tt.line, tt.msg)
		})
	}
}

func TestSetTokenLeavesInputAlone(t *testing.T) {
	in := []byte("token: old\n")
	if _, err := SetToken(in, "", "ntn_new"); err != nil {
		t.Fatal(err)
	}
	if string(in) != "token: old\n" {
		t.Errorf("input changed to %q", in)
	}
}
