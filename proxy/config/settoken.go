package config

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// SetToken returns a copy of the config file data with the inline token of
// one profile set to token, for "notion-proxy token set". data is not
// modified; writing the result (atomically) is the caller's job.
//
// profile names the profile; "" means the first profile (the only one in a
// shorthand or starter config). The cases:
//
//   - a top-level "token:" (shorthand): its value is replaced;
//   - a profiles list: the named profile's "token:" value is replaced, or a
//     "token:" key is added to a profile that has no token source yet;
//   - no profiles and no top-level token source (the starter config): a
//     top-level "token:" is added, just after the "# token: ..." hint line
//     when there is one, else at the end of the file.
//
// A profile that takes its token from token_file, token_env, token_command or
// oauth is an error naming that source; so is an unknown profile. token must
// be non-empty, valid UTF-8, without whitespace or control characters.
//
// Only the token's value (or the added line) changes: comments, blank lines,
// key order and every other byte of data stay as they were. Only if the file
// is laid out so that such a splice cannot be verified (a flow-style mapping,
// a multi-line value) is the document re-encoded, which keeps comments but
// may change indentation and blank lines. Either way the result is checked to
// decode to the same YAML tree as data except for the token, so when data
// parses, the result parses too, with the new token. The token is written
// with "${" escaped as "$${", so it reads back verbatim.
//
// Errors are *Error without a File (Line set where a line is known), and never
// contain the token.
func SetToken(data []byte, profile string, token string) ([]byte, error) {
	if problem := secretProblem(token); problem != "" {
		return nil, &Error{Msg: "token " + problem}
	}
	doc, root, err := parseRoot("", data)
	if err != nil {
		return nil, err
	}
	target, err := findTokenTarget(root, profile)
	if err != nil {
		return nil, err
	}
	e := &editor{data: data, starts: lineStarts(data), doc: doc, root: root}
	if out, ok := e.setToken(target, escapeDollar(token)); ok {
		return out, nil
	}
	return nil, &Error{Msg: "could not write the token into this file without changing the rest of it; set it by hand"}
}

// tokenTarget is the mapping whose token is to be set.
type tokenTarget struct {
	mapping  *yaml.Node
	name     string // profile name, for messages
	index    int    // pair index of the existing "token" key, or -1
	topLevel bool   // mapping is the top level (shorthand or starter)
}

// findTokenTarget locates the profile's mapping and its token key.
func findTokenTarget(root *yaml.Node, profile string) (tokenTarget, error) {
	profilesAt := -1
	for i := 0; i+1 < len(root.Content); i += 2 {
		if resolve(root.Content[i]).Value == "profiles" {
			profilesAt = i
		}
	}
	if profilesAt < 0 {
		if profile != "" && profile != "default" {
			return tokenTarget{}, &Error{Msg: "profile " + shown(profile) + ` not found: this config has only the profile "default"`}
		}
		t := tokenTarget{mapping: root, name: "default", topLevel: true}
		return t, t.locate()
	}

	list := resolve(root.Content[profilesAt+1])
	if list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		return tokenTarget{}, &Error{Line: root.Content[profilesAt].Line, Msg: "profiles is not a list of profiles"}
	}
	var names []string
	for i, item := range list.Content {
		name := ""
		if m := resolve(item); m.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(m.Content); j += 2 {
				if resolve(m.Content[j]).Value == "name" {
					name = resolve(m.Content[j+1]).Value
				}
			}
		}
		names = append(names, shown(name))
		if (profile == "" && i == 0) || (profile != "" && name == profile) {
			if item.Kind != yaml.MappingNode {
				return tokenTarget{}, &Error{Line: item.Line, Msg: "profile " + shown(name) + " is not a plain mapping (a YAML alias?); set its token by hand"}
			}
			t := tokenTarget{mapping: item, name: name}
			return t, t.locate()
		}
	}
	return tokenTarget{}, &Error{Msg: "profile " + shown(profile) + " not found; the profiles are " + strings.Join(names, ", ")}
}

// locate finds the "token" key of t.mapping and refuses profiles whose token
// comes from elsewhere.
func (t *tokenTarget) locate() error {
	t.index = -1
	for i := 0; i+1 < len(t.mapping.Content); i += 2 {
		keyNode := t.mapping.Content[i]
		key := resolve(keyNode).Value
		switch {
		case key == "token" && t.index >= 0:
			return &Error{Line: keyNode.Line, Msg: "duplicate key \"token\""}
		case key == "token":
			t.index = i / 2
			val := t.mapping.Content[i+1]
			if val.Kind != yaml.ScalarNode || val.Anchor != "" {
				return &Error{Line: keyNode.Line, Msg: "the token of profile " + shown(t.name) + " is not a plain value (a YAML alias, anchor or list); set it by hand"}
			}
		case isTokenSource(key):
			return &Error{Line: keyNode.Line, Msg: "profile " + shown(t.name) + " takes its token from " + key +
				", not from an inline token: update it there, or replace " + key + " with token"}
		}
	}
	return nil
}
