package config

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// profiles decodes the profiles list: each entry a mapping with a unique
// name and exactly one token source; no match value may select two profiles.
func (p *parser) profiles(pr pair) ([]Profile, error) {
	list := pr.val
	switch {
	case isNull(list) || (list.Kind == yaml.SequenceNode && len(list.Content) == 0):
		return nil, p.errAt(pr.keyNode, "profiles is empty: list at least one profile, or remove profiles and set a top-level token")
	case list.Kind != yaml.SequenceNode:
		return nil, p.errAt(pr.keyNode, "profiles must be a list (- name: ...), not a %s", kindName(list))
	}
	idx := &profileIndex{names: map[string]int{}, matches: map[string]string{}}
	out := make([]Profile, 0, len(list.Content))
	for i, item := range list.Content {
		prof, err := p.profile(item, i, idx)
		if err != nil {
			return nil, err
		}
		out = append(out, prof)
	}
	return out, nil
}

// profileIndex records what earlier profiles of the list took, to find
// duplicates.
type profileIndex struct {
	names   map[string]int    // profile name → line
	matches map[string]string // match value → profile name
}

func (p *parser) profile(item *yaml.Node, index int, idx *profileIndex) (Profile, error) {
	n := resolve(item)
	if n.Kind != yaml.MappingNode {
		return Profile{}, p.errAt(item, "profiles[%d] must be a mapping (name: ..., token: ...), not a %s", index, kindName(n))
	}
	entries, err := p.pairs(n)
	if err != nil {
		return Profile{}, err
	}
	d := &profileDecoder{p: p, prof: Profile{Line: item.Line}, where: fmt.Sprintf("profiles[%d]", index)}

	var nameAt *yaml.Node
	for _, e := range entries {
		if e.key == "name" {
			nameAt = e.keyNode
			if d.prof.Name, err = p.str(e, d.where+".name"); err != nil {
				return Profile{}, err
			}
		}
	}
	name := d.prof.Name
	switch {
	case nameAt == nil:
		return Profile{}, p.errAt(item, "%s has no name", d.where)
	case name == "":
		return Profile{}, p.errAt(nameAt, "%s: name is empty", d.where)
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return Profile{}, p.errAt(nameAt, "%s: name must be text without control characters", d.where)
	}
	if first, dup := idx.names[name]; dup {
		return Profile{}, p.errAt(nameAt, "duplicate profile name %s (first at line %d)", shown(name), first)
	}
	idx.names[name] = nameAt.Line
	d.where = "profile " + shown(name)

	for _, e := range entries {
		switch {
		case e.key == "name":
		case e.key == "match":
			err = d.match(e, idx)
		case e.key == "workspace":
			err = d.workspace(e)
		case isTokenSource(e.key):
			err = d.source(e)
		default:
			err = p.unknownKey(e, d.where)
		}
		if err != nil {
			return Profile{}, err
		}
	}
	if d.first.keyNode == nil {
		return Profile{}, p.errAt(item, "%s has no token source: set one of token, token_file, token_env, token_command or oauth", d.where)
	}
	return d.prof, nil
}

// profileDecoder builds one profile, from a profiles entry or from the
// top-level shorthand, and enforces "exactly one token source".
type profileDecoder struct {
	p     *parser
	prof  Profile
	where string // `profile "work"` in a list; "" for the top-level shorthand
	first pair   // the first token source seen; keyNode is nil before that
}

// label prefixes a message about one of the profile's keys.
func (d *profileDecoder) label() string {
	if d.where == "" {
		return ""
	}
	return d.where + ": "
}

// source decodes one token source key. Messages name the key, never the
// value.
func (d *profileDecoder) source(pr pair) error {
	p, label := d.p, d.label()
	if d.first.keyNode != nil {
		return p.errAt(pr.keyNode, "%s%s and %s are both set: use exactly one token source", label, d.first.key, pr.key)
	}
	d.first = pr
	if pr.key == "token_command" {
		return d.command(pr)
	}
	if pr.key == "oauth" {
		return d.oauth(pr)
	}
	v, err := p.str(pr, label+pr.key)
	if err != nil {
		return err
	}
	unset := p.unsetNote(pr.val)
	switch pr.key {
	case "token":
		if problem := notText(pr.val); problem != "" {
			return p.errAt(pr.keyNode, "%stoken %s", label, problem)
		}
		if problem := secretProblem(v); problem != "" {
			return p.errAt(pr.keyNode, "%stoken %s%s", label, problem, unset)
		}
		d.prof.Token = v
	case "token_file":
		if v == "" {
			return p.errAt(pr.keyNode, "%stoken_file is empty%s", label, unset)
		}
		d.prof.TokenFile = p.path(v)
	case "token_env":
		switch {
		case v == "":
			return p.errAt(pr.keyNode, "%stoken_env is empty%s", label, unset)
		case !isEnvName(v):
			return p.errAt(pr.keyNode, "%stoken_env must be the name of an environment variable (letters, digits, _), not its value; to use a variable's value write token: ${NAME}", label)
		}
		d.prof.TokenEnv = v
	}
	return nil
}

// command decodes token_command: a non-empty list of strings whose first
// element, the program, is not empty.
func (d *profileDecoder) command(pr pair) error {
	p, label := d.p, d.label()
	list := pr.val
	if list.Kind != yaml.SequenceNode {
		return p.errAt(pr.keyNode, `%stoken_command must be a list of strings, e.g. ["op", "read", "op://vault/notion/token"]`, label)
	}
	if len(list.Content) == 0 {
		return p.errAt(pr.keyNode, "%stoken_command is empty: list the program and its arguments", label)
	}
	argv := make([]string, 0, len(list.Content))
	for i, item := range list.Content {
		arg, err := p.scalar(resolve(item), item, fmt.Sprintf("%stoken_command[%d]", label, i))
		if err != nil {
			return err
		}
		argv = append(argv, arg)
	}
	if argv[0] == "" {
		return p.errAt(list.Content[0], "%stoken_command[0], the program to run, is empty%s", label, p.unsetNote(resolve(list.Content[0])))
	}
	d.prof.TokenCommand = argv
	return nil
}

// oauth decodes the OAuth credentials of a public integration: client_id,
// client_secret and refresh_token are required, access_token is optional.
func (d *profileDecoder) oauth(pr pair) error {
	p, label := d.p, d.label()
	if !isNull(pr.val) && pr.val.Kind != yaml.MappingNode {
		return p.errAt(pr.keyNode, "%soauth must be a mapping with client_id, client_secret and refresh_token", label)
	}
	entries, err := p.section(pr, label+"oauth")
	if err != nil {
		return err
	}
	o := &OAuth{}
	fields := map[string]*string{
		"client_id":     &o.ClientID,
		"client_secret": &o.ClientSecret,
		"refresh_token": &o.RefreshToken,
		"access_token":  &o.AccessToken,
	}
	in := "oauth"
	if d.where != "" {
		in = "oauth of " + d.where
	}
	for _, e := range entries {
		dst, known := fields[e.key]
		if !known {
			return p.unknownKey(e, in)
		}
		v, err := p.str(e, label+"oauth."+e.key)
		if err != nil {
			return err
		}
		if problem := notText(e.val); problem != "" && e.key != "client_id" {
			return p.errAt(e.keyNode, "%soauth.%s %s", label, e.key, problem)
		}
		if problem := secretProblem(v); problem != "" && (e.key != "access_token" || v != "") {
			return p.errAt(e.keyNode, "%soauth.%s %s%s", label, e.key, problem, p.unsetNote(e.val))
		}
		*dst = v
	}
	for _, key := range []string{"client_id", "client_secret", "refresh_token"} {
		if *fields[key] == "" {
			return p.errAt(pr.keyNode, "%soauth.%s is missing", label, key)
		}
	}
	d.prof.OAuth = o
	return nil
}

// match decodes the list of incoming Bearer tokens or proxy user names that
// select the profile. Values may be secrets: messages give positions only.
func (d *profileDecoder) match(pr pair, idx *profileIndex) error {
	p, label := d.p, d.label()
	if isNull(pr.val) {
		return nil
	}
	if pr.val.Kind != yaml.SequenceNode {
		return p.errAt(pr.keyNode, "%smatch must be a list of strings", label)
	}
	for i, item := range pr.val.Content {
		v, err := p.scalar(resolve(item), item, fmt.Sprintf("%smatch[%d]", label, i))
		if err != nil {
			return err
		}
		if problem := secretProblem(v); problem != "" {
			return p.errAt(item, "%smatch[%d] %s%s", label, i, problem, p.unsetNote(resolve(item)))
		}
		if owner, taken := idx.matches[v]; taken && owner != d.prof.Name {
			return p.errAt(item, "%smatch[%d] already selects profile %s: a value may select only one profile", label, i, shown(owner))
		}
		idx.matches[v] = d.prof.Name
		d.prof.Match = append(d.prof.Match, v)
	}
	return nil
}

// workspace decodes the workspace label: profiles that declare the same
// label share Notion's per-workspace rate limit (docs/design.md#the-rate-limit-scheduler).
func (d *profileDecoder) workspace(pr pair) error {
	p, label := d.p, d.label()
	v, err := p.str(pr, label+"workspace")
	if err != nil {
		return err
	}
	switch {
	case v == "":
		return p.errAt(pr.keyNode, "%sworkspace is empty: name the Notion workspace, or remove the key", label)
	case !utf8.ValidString(v) || strings.IndexFunc(v, unicode.IsControl) >= 0:
		return p.errAt(pr.keyNode, "%sworkspace must be text without control characters", label)
	}
	d.prof.Workspace = v
	return nil
}
