package config

import "testing"

func TestExpand(t *testing.T) {
	env := envOf(map[string]string{"TOKEN": "ntn_x", "EMPTY": "", "NESTED": "${TOKEN}"})
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"text without references is unchanged", "plain text", "plain text", true},
		{"a set variable is replaced by its value", "${TOKEN}", "ntn_x", true},
		{"references inside text are replaced", "a-${TOKEN}-b", "a-ntn_x-b", true},
		{"an unset variable becomes empty", "x${MISSING}y", "xy", true},
		{"a variable set to empty becomes empty", "${EMPTY}", "", true},
		{"a value is not expanded again", "${NESTED}", "${TOKEN}", true},
		{"$${ is a literal ${", "$${TOKEN}", "${TOKEN}", true},
		{"a lone dollar is kept", "cost 5$ and $TOKEN", "cost 5$ and $TOKEN", true},
		{"a double dollar not before a brace is kept", "pa$$word ${TOKEN}", "pa$$word ntn_x", true},
		{"an unclosed reference is an error", "${TOKEN", "", false},
		{"a name with a space is an error", "${NOTION TOKEN}", "", false},
		{"an empty name is an error", "${}", "", false},
		{"a name starting with a digit is an error", "${1A}", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := expand(tt.in, env)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("expand(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestEscapeDollarRoundTrips(t *testing.T) {
	none := envOf(nil)
	for _, v := range []string{"", "ntn_abc", "${HOME}", "$${x}", "$", "$$", "a$${b${c}", "${$${", "}{$"} {
		t.Run("the value "+v+" reads back verbatim", func(t *testing.T) {
			got, ok := expand(escapeDollar(v), none)
			if !ok || got != v {
				t.Errorf("expand(escapeDollar(%q)) = %q, %v", v, got, ok)
			}
		})
	}
}

func TestParseListsEveryVariableThatReadAsEmpty(t *testing.T) {
	env := map[string]string{"SET": "ntn_set", "EMPTY": ""}
	tests := []struct {
		name, src string
		want      []UnsetVariable
	}{
		{"set variables and literals list nothing", "token: ${SET}\nadmin_token: a$${X}\n", nil},
		{"an unset listen, upstream and a part of a token are each listed at their line",
			"listen: ${NO_LISTEN}\nupstream: ${NO_UPSTREAM}\ntoken: x${NO_TOKEN}\n",
			[]UnsetVariable{{"NO_LISTEN", "listen", 1}, {"NO_UPSTREAM", "upstream", 2}, {"NO_TOKEN", "token", 3}}},
		{"a variable set to empty is listed", "admin_token: ${EMPTY}\ntoken: ntn_x\n", []UnsetVariable{{"EMPTY", "admin_token", 1}}},
		{"two in one value are both listed", "token: ntn_${A}${B}\n", []UnsetVariable{{"A", "token", 1}, {"B", "token", 1}}},
		{"one in a profile names the profile", "profiles:\n  - name: a\n    token: ntn_${A}\n",
			[]UnsetVariable{{"A", `profile "a": token`, 3}}},
		{"one in a nested section names its key", "log:\n  level: ${LEVEL}\ntoken: ntn_x\n", []UnsetVariable{{"LEVEL", "log.level", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.src, env).Unset
			if len(got) != len(tt.want) {
				t.Fatalf("Unset = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("Unset[%d] = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}
