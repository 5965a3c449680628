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
