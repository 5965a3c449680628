package config

import (
	"strings"
	"testing"
)

// TestSetOAuthTokensSplices checks the exact output for each case: only the
// two values change, or access_token is added next to refresh_token.
func TestSetOAuthTokensSplices(t *testing.T) {
	const access, refresh = "acc_NEW1", "ref_NEW2"
	env := map[string]string{"NOTION_CLIENT_SECRET": "cs", "NOTION_REFRESH": "ref_env"}
	home := lines( // a profile that must stay as it is
		"profiles:",
		"  - name: home",
		"    oauth:",
		"      client_id: home_id",
		"      client_secret: home_cs",
		"      refresh_token: home_ref",
		"      access_token: home_acc",
	)
	tests := []struct {
		name           string
		in             string
		profile        string
		access, refres string // defaults: access, refresh
		want           string
	}{
		{
			name: "a shorthand oauth without access_token gets one after refresh_token",
			in: lines(
				"listen: 127.0.0.1:8787",
				"oauth:",
				"  client_id: cid",
				"  refresh_token: ref_old   # rotated on every refresh",
				"  client_secret: ${NOTION_CLIENT_SECRET}",
			),
			want: lines(
				"listen: 127.0.0.1:8787",
				"oauth:",
				"  client_id: cid",
				"  refresh_token: ref_NEW2   # rotated on every refresh",
				"  access_token: acc_NEW1",
				"  client_secret: ${NOTION_CLIENT_SECRET}",
			),
		},
		{
			name: "a shorthand oauth with access_token has both values replaced",
			in: lines(
				"oauth:",
				"  access_token: \"acc_old\"",
				"  client_id: cid",
				"  client_secret: ${NOTION_CLIENT_SECRET}",
				"  refresh_token: 'ref_old'",
			),
			want: lines(
				"oauth:",
				"  access_token: \"acc_NEW1\"",
				"  client_id: cid",
				"  client_secret: ${NOTION_CLIENT_SECRET}",
				"  refresh_token: 'ref_NEW2'",
			),
		},
		{
			name: "refresh_token as the last key of the file gets access_token below it",
			in:   "oauth:\n  client_id: cid\n  client_secret: cs\n  refresh_token: ref_old",
			want: "oauth:\n  client_id: cid\n  client_secret: cs\n  refresh_token: ref_NEW2\n  access_token: acc_NEW1\n",
		},
		{
			name: "an empty access_token gets a value",
			in:   "oauth:\n  client_id: cid\n  client_secret: cs\n  refresh_token: ref_old\n  access_token:\n",
			want: "oauth:\n  client_id: cid\n  client_secret: cs\n  refresh_token: ref_NEW2\n  access_token: acc_NEW1\n",
		},
		{
			name:    "in a profiles list only the named oauth profile changes",
			profile: "work",
			in: home + lines(
				"  - name: work",
				"    oauth:",
				"      client_id: work_id",
				"      client_secret: work_cs",
				"      refresh_token: work_ref",
				"    match: [w]",
			),
			want: home + lines(
				"  - name: work",
				"    oauth:",
				"      client_id: work_id",
				"      client_secret: work_cs",
				"      refresh_token: ref_NEW2",
				"      access_token: acc_NEW1",
				"    match: [w]",
			),
		},
		{
			name: "no profile name means the first profile",
			in: lines(
				"profiles:",
				"  - name: a",
				"    oauth: {client_id: a_id, client_secret: a_cs, refresh_token: a_ref, access_token: a_acc}",
				"  - name: b",
				"    oauth: {client_id: b_id, client_secret: b_cs, refresh_token: b_ref, access_token: b_acc}",
			),
			want: lines(
				"profiles:",
				"  - name: a",
				"    oauth: {client_id: a_id, client_secret: a_cs, refresh_token: ref_NEW2, access_token: acc_NEW1}",
				"  - name: b",
				"    oauth: {client_id: b_id, client_secret: b_cs, refresh_token: b_ref, access_token: b_acc}",
			),
		},
		{
			name: "a flow-style oauth gets access_token as an entry after refresh_token",
			in:   "oauth: {client_id: cid, client_secret: \"${NOTION_CLIENT_SECRET}\", refresh_token: ref_old}  # public integration\n",
			want: "oauth: {client_id: cid, client_secret: \"${NOTION_CLIENT_SECRET}\", refresh_token: ref_NEW2, access_token: acc_NEW1}  # public integration\n",
		},
		{
			name:    "a flow-style oauth over several lines is edited in place",
			profile: "p",
			in:      "profiles:\n  - name: p\n    oauth: {refresh_token: \"ref_old\",\n      client_id: cid, client_secret: cs}\n    match: [m]\n",
			want:    "profiles:\n  - name: p\n    oauth: {refresh_token: \"ref_NEW2\", access_token: acc_NEW1,\n      client_id: cid, client_secret: cs}\n    match: [m]\n",
		},
		{
			name: "a refresh_token from ${ENV} is replaced by the literal new value",
			in:   "oauth:\n  client_id: cid\n  client_secret: ${NOTION_CLIENT_SECRET}\n  refresh_token: ${NOTION_REFRESH}\n",
			want: "oauth:\n  client_id: cid\n  client_secret: ${NOTION_CLIENT_SECRET}\n  refresh_token: ref_NEW2\n  access_token: acc_NEW1\n",
		},
		{
			name:   "tokens needing quotes or containing ${ are written to read back verbatim",
			in:     "oauth: {client_id: cid, client_secret: cs, refresh_token: r}\n",
			access: "a#b:${X}",
			refres: "r'\"${Y}",
			want:   "oauth: {client_id: cid, client_secret: cs, refresh_token: \"r'\\\"$${Y}\", access_token: \"a#b:$${X}\"}\n",
		},
		{
			name: "CRLF line endings are kept",
			in:   "oauth:\r\n  client_id: cid\r\n  client_secret: cs\r\n  refresh_token: r\r\n",
			want: "oauth:\r\n  client_id: cid\r\n  client_secret: cs\r\n  refresh_token: ref_NEW2\r\n  access_token: acc_NEW1\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc, ref := or(tt.access, access), or(tt.refres, refresh)
			out, err := SetOAuthTokens([]byte(tt.in), tt.profile, acc, ref)
			if err != nil {
				t.Fatalf("SetOAuthTokens: %v", err)
			}
			if string(out) != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", out, tt.want)
			}
			before, after := mustParse(t, tt.in, env), mustParse(t, string(out), env)
			for i, p := range after.Profiles {
				if (tt.profile == "" && i == 0) || p.Name == tt.profile {
					if p.OAuth == nil || p.OAuth.AccessToken != acc || p.OAuth.RefreshToken != ref {
						t.Errorf("profile %q OAuth = %+v, want access %q refresh %q", p.Name, p.OAuth, acc, ref)
					}
					if p.OAuth != nil && (p.OAuth.ClientID != before.Profiles[i].OAuth.ClientID ||
						p.OAuth.ClientSecret != before.Profiles[i].OAuth.ClientSecret) {
						t.Errorf("profile %q client credentials changed: %+v", p.Name, p.OAuth)
					}
				} else if *p.OAuth != *before.Profiles[i].OAuth {
					t.Errorf("profile %q changed too: %+v", p.Name, p.OAuth)
				}
			}
		})
	}
}

func or(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}

func TestSetOAuthTokensKeepsComments(t *testing.T) {
	in := lines(
		"# notion-proxy, public integration",
		"",
		"listen: 127.0.0.1:8787  # local only",
		"",
		"# OAuth of the integration; the proxy keeps the tokens current.",
		"oauth:",
		"  # from the integration's settings page",
		"  client_id: cid",
		"  client_secret: ${NOTION_CLIENT_SECRET}  # never in this file",
		"  # rotated on every refresh",
		"  refresh_token: ref_old",
		"  # end of oauth",
		"",
		"log: {level: debug}  # while testing",
		"# last line",
	)
	out, err := SetOAuthTokens([]byte(in), "", "acc_NEW", "ref_NEW")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("every comment and blank line survives, in order", func(t *testing.T) {
		var want, got []string
		for _, l := range strings.Split(in, "\n") {
			if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
				want = append(want, l)
			}
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
				got = append(got, l)
			}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("comment and blank lines differ:\n%s", out)
		}
	})
	t.Run("trailing comments stay on their lines", func(t *testing.T) {
		for _, c := range []string{"# local only", "# never in this file", "# while testing"} {
			if strings.Count(string(out), c) != 1 {
				t.Errorf("%q lost:\n%s", c, out)
			}
		}
	})
	t.Run("the only other change is the added access_token line", func(t *testing.T) {
		got := strings.Replace(string(out), "  access_token: acc_NEW\n", "", 1)
		if got != strings.Replace(in, "ref_old", "ref_NEW", 1) {
			t.Errorf("unexpected change:\n%s", out)
		}
	})
}

func TestSetOAuthTokensReencodesWhenItCannotSplice(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"a block scalar refresh_token is re-encoded", "oauth:\n  client_id: a\n  client_secret: b\n  refresh_token: |\n    r\n# note\n"},
		{"a multi-line access_token is re-encoded", "oauth:\n  client_id: a\n  client_secret: b\n  refresh_token: r\n  access_token: x\n    y\n# note\n"},
		{"a flow oauth ending in a tagged value is re-encoded", "oauth: {client_id: a, client_secret: b, refresh_token: !!str r} # note\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := SetOAuthTokens([]byte(tt.in), "", "acc_re", "ref_re")
			if err != nil {
				t.Fatal(err)
			}
			o := mustParse(t, string(out), nil).Profiles[0].OAuth
			if o.AccessToken != "acc_re" || o.RefreshToken != "ref_re" || o.ClientID != "a" || o.ClientSecret != "b" {
				t.Errorf("OAuth = %+v\n%s", o, out)
			}
			if !strings.Contains(string(out), "# note") {
				t.Errorf("comment lost:\n%s", out)
			}
		})
	}
}

func TestSetOAuthTokensErrors(t *testing.T) {
	profiles := sourceProfiles()
	tests := []struct {
		name    string
		in      string
		profile string
		access  string // "" = "acc_SECRET"
		refresh string // "" = "ref_SECRET"
		line    int
		msg     string
	}{
		{"a profile using token_file is refused", profiles, "file", "", "", 3, `profile "file" takes its token from token_file, not from oauth`},
		{"a profile using token_env is refused", profiles, "env", "", "", 5, `profile "env" takes its token from token_env, not from oauth`},
		{"a profile using token_command is refused", profiles, "cmd", "", "", 7, `profile "cmd" takes its token from token_command, not from oauth`},
		{"a profile with an inline token is refused", profiles, "inline", "", "", 11, `profile "inline" takes its token from token, not from oauth`},
		{"the first profile is used when no name is given", profiles, "", "", "", 3, `profile "file" takes its token from token_file`},
		{"an unknown profile is refused with the known names", profiles, "nope", "", "", 0,
			`profile "nope" not found; the profiles are "file", "env", "cmd", "public", "inline"`},
		{"a shorthand config has only the default profile", "oauth: {client_id: a, client_secret: b, refresh_token: c}\n", "work", "", "", 0,
			`profile "work" not found: this config has only the profile "default"`},
		{"a shorthand token is refused", "token: ntn_x\n", "", "", "", 1, `profile "default" takes its token from token, not from oauth`},
		{"the starter config is refused", string(StarterConfig()), "", "", "", 0, `profile "default" does not use oauth: it has no token source`},
		{"a profile without a token source is refused", "profiles:\n  - name: a\n    match: [m]\n", "a", "", "", 2, `profile "a" does not use oauth`},
		{"an oauth without refresh_token is refused", "oauth: {client_id: a, client_secret: b}\n", "", "", "", 1, "has no refresh_token"},
		{"an oauth that is not a mapping is refused", "oauth: x\n", "", "", "", 1, `the oauth of profile "default" is not a mapping`},
		{"an oauth shared by alias is refused", lines(
			"profiles:",
			"  - name: a",
			"    oauth: &o {client_id: a, client_secret: b, refresh_token: c}",
			"  - name: b",
			"    oauth: *o",
		), "b", "", "", 5, "alias or anchor"},
		{"an anchored oauth is refused", lines(
			"profiles:",
			"  - name: a",
			"    oauth: &o {client_id: a, client_secret: b, refresh_token: c}",
			"  - name: b",
			"    oauth: *o",
		), "a", "", "", 3, "alias or anchor"},
		{"an anchored refresh_token is refused", "oauth: {client_id: &x a, client_secret: b, refresh_token: &r c}\n", "", "", "", 1,
			`the refresh_token of the oauth of profile "default" is not a plain value`},
		{"an access_token list is refused", "oauth:\n  client_id: a\n  client_secret: b\n  refresh_token: c\n  access_token: [x]\n", "", "", "", 5,
			`the access_token of the oauth of profile "default" is not a plain value`},
		{"two refresh_token keys are refused", "oauth:\n  client_id: a\n  refresh_token: x\n  refresh_token: y\n", "", "", "", 4, `duplicate key "refresh_token"`},
		{"two oauth keys are refused", "profiles:\n  - name: a\n    oauth: {refresh_token: x}\n    oauth: {refresh_token: y}\n", "a", "", "", 4, `duplicate key "oauth"`},
		{"an empty access token is refused", "oauth: {refresh_token: x}\n", "", "-", "", 0, "access token is empty"},
		{"an empty refresh token is refused", "oauth: {refresh_token: x}\n", "", "", "-", 0, "refresh token is empty"},
		{"an access token with whitespace is refused", "oauth: {refresh_token: x}\n", "", "acc_SECRET more", "", 0, "access token contains whitespace"},
		{"a refresh token with a newline is refused", "oauth: {refresh_token: x}\n", "", "", "ref_SECRET\n", 0, "refresh token contains whitespace"},
		{"a refresh token with a control character is refused", "oauth: {refresh_token: x}\n", "", "", "ref_SECRET\x00", 0, "refresh token contains a control character"},
		{"a refresh token that is not UTF-8 is refused", "oauth: {refresh_token: x}\n", "", "", "ref_SECRET\xff", 0, "refresh token is not valid UTF-8"},
		{"broken YAML is refused with its line", "oauth:\n  refresh_token: [\n", "", "", "", 2, "invalid YAML"},
		{"an empty file is refused", "", "", "", "", 0, "config is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			access, refresh := tokenArg(tt.access, "acc_SECRET"), tokenArg(tt.refresh, "ref_SECRET")
			_, err := SetOAuthTokens([]byte(tt.in), tt.profile, access, refresh)
			checkEditError(t, err, tt.line, tt.msg)
		})
	}
}

// tokenArg maps a test table's token column to the argument: "" is the
// default, "-" the empty string.
func tokenArg(v, fallback string) string {
	switch v {
	case "":
		return fallback
	case "-":
		return ""
	}
	return v
}

// TestSetOAuthTokensNeverShowsValues checks that no error shows a token or a
// value from the file, whatever goes wrong.
func TestSetOAuthTokensNeverShowsValues(t *testing.T) {
	const access, refresh = "acc_S3CRET_access", "ref_S3CRET_refresh"
	ins := []string{
		"token: ntn_S3CRET_inline\n",
		"token_env: S3CRET_VAR\n",
		"oauth: {client_id: S3CRET_id, client_secret: S3CRET_cs}\n",
		"oauth: {client_id: S3CRET_id, client_secret: S3CRET_cs, refresh_token: &a S3CRET_r}\n",
		"oauth: {client_id: S3CRET_id, refresh_token: S3CRET_r, refresh_token: S3CRET_r2}\n",
		"profiles:\n  - name: p\n    oauth: {client_id: S3CRET_id, client_secret: S3CRET_cs, refresh_token: S3CRET_r}\n",
	}
	for _, in := range ins {
		for _, profile := range []string{"", "p", "default"} {
			_, err := SetOAuthTokens([]byte(in), profile, access, refresh)
			if err == nil {
				continue
			}
			if strings.Contains(err.Error(), "S3CRET") {
				t.Errorf("error shows a value: %v", err)
			}
		}
	}
	for _, bad := range [][2]string{{"", refresh}, {access, ""}, {access + " x", refresh}, {access, refresh + "\n"}} {
		_, err := SetOAuthTokens([]byte(ins[5]), "p", bad[0], bad[1])
		if err == nil || strings.Contains(err.Error(), "S3CRET") {
			t.Errorf("err = %v, want an error without the tokens", err)
		}
	}
}

func TestSetOAuthTokensLeavesInputAlone(t *testing.T) {
	const in = "oauth: {client_id: a, client_secret: b, refresh_token: c}\n"
	data := []byte(in)
	if _, err := SetOAuthTokens(data, "", "acc", "ref"); err != nil {
		t.Fatal(err)
	}
	if string(data) != in {
		t.Errorf("input changed to %q", data)
	}
}
