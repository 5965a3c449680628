package config

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// unsetNote names the ${NAME} references of n's text whose variable is
// unset or empty, as ": ${A} is not set" (or "" when there are none), to
// explain a value that expanded to nothing.
func (p *parser) unsetNote(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	var refs []string
	for _, name := range p.unsetNames(n.Value) {
		refs = append(refs, "${"+name+"}")
	}
	return joinUnset(refs)
}

// unsetNames lists the names of the ${NAME} references in s whose variable
// is unset or empty, in order; "$${" is a literal and names nothing.
func (p *parser) unsetNames(s string) []string {
	var unset []string
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return unset
			}
			if name := s[i+2 : i+2+end]; isEnvName(name) && p.getenv(name) == "" {
				unset = append(unset, name)
			}
			i += 2 + end + 1
		default:
			i++
		}
	}
	return unset
}

func joinUnset(refs []string) string {
	switch len(refs) {
	case 0:
		return ""
	case 1:
		return ": " + refs[0] + " is not set"
	}
	return ": " + strings.Join(refs, ", ") + " are not set"
}

// notText says why a plain (unquoted) YAML number or boolean cannot be a
// token or another secret, or "" when n is text: no Notion credential is a
// number, so one is a value pasted into the wrong key or cut short.
func notText(n *yaml.Node) string {
	switch plainKind(n) {
	case "number":
		return "is a number, not a token (Notion tokens look like ntn_… or secret_…); quote it if it really is the token"
	case "bool":
		return "is true or false, not a token; quote it if it really is the token"
	}
	return ""
}

// notSecretText is notText for a secret that is not a Notion token, such
// as admin_token: what names it in the advice ("the admin token").
func notSecretText(n *yaml.Node, what string) string {
	switch plainKind(n) {
	case "number":
		return "is a number, not text; quote it if it really is " + what
	case "bool":
		return "is true or false, not text; quote it if it really is " + what
	}
	return ""
}

// plainKind is "number" or "bool" for an unquoted YAML scalar that YAML
// reads as one, else "" (text, or any quoted or block value).
func plainKind(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode || n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return ""
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		return "number"
	case "!!bool":
		return "bool"
	}
	return ""
}
