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
// Only the token's value (or the added line or flow entry) changes: comments,
// blank lines, key order and every other byte of data stay as they were. Only
// if the file is laid out so that such a splice cannot be verified (a
// multi-line value, a flow mapping ending in a nested list) is the document
// re-encoded, which keeps comments but may change indentation and blank
// lines. Either way the result is checked to decode to the same YAML tree as
// data except for the token, so when data parses, the result parses too, with
// the new token. The token is written with "${" escaped as "$${", so it reads
// back verbatim.
//
// Errors are *Error without a File (Line set where a line is known), and never
// contain the token.
func SetToken(data []byte, profile string, token string) ([]byte, error) {
	if problem := secretProblem(token); problem != "" {
		return nil, &Error{Msg: "token " + problem}
	}
	return setValue(data, token, "token", func(root *yaml.Node) (slot, error) {
		target, err := findProfile(root, profile)
		if err != nil {
			return slot{}, err
		}
		return target.tokenSlot()
	})
}

// setValue returns a copy of data with one single-line value set to value,
// written with "${" escaped as "$${" so that it reads back verbatim. find
// locates the slot in the decoded top-level mapping. what names the value in
// the error for a file that cannot be edited; value is never in an error.
func setValue(data []byte, value, what string, find func(root *yaml.Node) (slot, error)) ([]byte, error) {
	doc, root, err := parseRoot("", data)
	if err != nil {
		return nil, err
	}
	s, err := find(root)
	if err != nil {
		return nil, err
	}
	e := &editor{data: data, starts: lineStarts(data), doc: doc, root: root}
	if out, ok := e.set(s, escapeDollar(value)); ok {
		return out, nil
	}
	return nil, &Error{Msg: "could not write the " + what + " into this file without changing the rest of it; set it by hand"}
}

// slot is the key of a mapping whose value is to be set: replaced when the
// key is there, else added.
type slot struct {
	mapping *yaml.Node
	key     string // the key to set, e.g. "token"
	index   int    // pair index of the existing key, or -1
	after   string // an added key goes just after this key's entry, if there is one
	hint    bool   // mapping is the top level: an added key goes below a "# key: ..." hint line, or at the end
}

// checkPlain refuses an existing value that cannot be replaced on its own:
// an alias, an anchored value, a list or a mapping. what names the value.
func (s slot) checkPlain(what string) error {
	if s.index < 0 {
		return nil
	}
	val := s.mapping.Content[2*s.index+1]
	if val.Kind != yaml.ScalarNode || val.Anchor != "" {
		return &Error{Line: s.mapping.Content[2*s.index].Line, Msg: what + " is not a plain value (a YAML alias, anchor or list); set it by hand"}
	}
	return nil
}

// profileTarget is the mapping of the profile whose token is to be set: an
// entry of the profiles list, or the top level (shorthand or starter).
type profileTarget struct {
	mapping  *yaml.Node
	name     string // profile name, for messages
	topLevel bool
}

// findProfile locates the profile named profile ("" = the first one).
func findProfile(root *yaml.Node, profile string) (profileTarget, error) {
	profilesAt := keyIndex(root, "profiles")
	if profilesAt < 0 {
		if profile != "" && profile != "default" {
			return profileTarget{}, &Error{Msg: "profile " + shown(profile) + ` not found: this config has only the profile "default"`}
		}
		return profileTarget{mapping: root, name: "default", topLevel: true}, nil
	}

	list := resolve(root.Content[2*profilesAt+1])
	if list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		return profileTarget{}, &Error{Line: root.Content[2*profilesAt].Line, Msg: "profiles is not a list of profiles"}
	}
	var names []string
	for i, item := range list.Content {
		name := ""
		if m := resolve(item); m.Kind == yaml.MappingNode {
			if at := keyIndex(m, "name"); at >= 0 {
				name = resolve(m.Content[2*at+1]).Value
			}
		}
		names = append(names, shown(name))
		if (profile == "" && i == 0) || (profile != "" && name == profile) {
			if item.Kind != yaml.MappingNode {
				return profileTarget{}, &Error{Line: item.Line, Msg: "profile " + shown(name) + " is not a plain mapping (a YAML alias?); set its token by hand"}
			}
			return profileTarget{mapping: item, name: name}, nil
		}
	}
	return profileTarget{}, &Error{Msg: "profile " + shown(profile) + " not found; the profiles are " + strings.Join(names, ", ")}
}

// tokenSlot is where the profile's inline token goes. A profile whose token
// comes from elsewhere is refused.
func (t profileTarget) tokenSlot() (slot, error) {
	index, other, err := t.source("token")
	switch {
	case err != nil:
		return slot{}, err
	case other != "":
		return slot{}, &Error{Line: t.mapping.Content[2*index].Line, Msg: "profile " + shown(t.name) + " takes its token from " + other +
			", not from an inline token: update it there, or replace " + other + " with token"}
	}
	s := slot{mapping: t.mapping, key: "token", index: index, after: "name", hint: t.topLevel}
	return s, s.checkPlain("the token of profile " + shown(t.name))
}

// source finds the profile's token source key want: its pair index, or -1
// when the profile names no token source. When the profile takes its token
// from another source, other is that key and index its pair.
func (t profileTarget) source(want string) (index int, other string, err error) {
	index = -1
	for i := 0; i+1 < len(t.mapping.Content); i += 2 {
		keyNode := t.mapping.Content[i]
		key := resolve(keyNode).Value
		switch {
		case key == want && index >= 0:
			return 0, "", &Error{Line: keyNode.Line, Msg: "duplicate key " + shown(want)}
		case key == want:
			index = i / 2
		case isTokenSource(key):
			return i / 2, key, nil
		}
	}
	return index, "", nil
}

// keyIndex returns the pair index of the last key named key in mapping m, or
// -1.
func keyIndex(m *yaml.Node, key string) int {
	index := -1
	for i := 0; i+1 < len(m.Content); i += 2 {
		if resolve(m.Content[i]).Value == key {
			index = i / 2
		}
	}
	return index
}
