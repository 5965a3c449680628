package config

import "strings"

// expand replaces every ${NAME} in s with getenv(NAME); an unset variable
// expands to "". NAME is letters, digits and '_', not starting with a digit.
//
// "$${" stands for a literal "${" (so "$${HOME}" reads as "${HOME}"). Every
// other '$' is kept as it is: "pa$$word" and "cost: 5$" need no escaping.
// A "${" that is not a well-formed reference (no closing brace, or a name
// with other characters) makes ok false, so a typo such as "${NOTION TOKEN}"
// is an error instead of a silently empty value.
//
// Keys are never expanded, and the result is not expanded again.
func expand(s string, getenv func(string) string) (out string, ok bool) {
	if !strings.Contains(s, "${") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", false
			}
			name := s[i+2 : i+2+end]
			if !isEnvName(name) {
				return "", false
			}
			b.WriteString(getenv(name))
			i += 2 + end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), true
}

// escapeDollar is the inverse of expand for a literal value: it writes every
// "${" in v as "$${", so expand(escapeDollar(v)) == v.
func escapeDollar(v string) string {
	return strings.ReplaceAll(v, "${", "$${")
}

// isEnvName reports whether name is a portable environment variable name:
// [A-Za-z_][A-Za-z0-9_]*.
func isEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
