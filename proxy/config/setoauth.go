package config

import (
	"gopkg.in/yaml.v3"
)

// SetOAuthTokens records a refreshed OAuth access token and the rotated
// refresh token in the "oauth:" mapping of the named profile, for the proxy
// after a refresh (docs/design.md#tokens). It returns a copy of data; data is not modified,
// and writing the result (atomically) is the caller's job.
//
// profile names the profile; "" means the first profile (the only one of the
// top-level shorthand "oauth:" with no profiles, which is also "default").
// In that profile's oauth mapping the value of refresh_token is replaced, and
// the value of access_token is replaced or, as access_token is optional, a
// key is added just after refresh_token (a line of its own in a block
// mapping, ", access_token: ..." in a flow mapping). An existing value that
// is a ${NAME} reference is replaced by the literal new value: after the
// rotation the old refresh token is dead, so the variable no longer holds a
// usable one. client_id and client_secret are never touched, ${NAME}
// references included.
//
// A profile that takes its token from token, token_file, token_env or
// token_command, or names no token source, is an error naming what it uses;
// so is an unknown profile, an oauth that is not a plain mapping (an alias
// or an anchored mapping another profile may share), one without
// refresh_token, and an existing token value that is not a plain value. Both
// tokens must be non-empty, valid UTF-8, without whitespace or control
// characters.
//
// As with SetToken, only the two values (and the added entry) change:
// comments, blank lines, quoting, key order and every other byte of data stay
// as they were, unless no such splice can be verified and the document is
// re-encoded. Each change is checked to decode to the expected YAML tree, so
// when data parses, the result parses too, with the new tokens in
// Config.Profiles[i].OAuth. Values are written with "${" escaped as "$${", so
// they read back verbatim.
//
// Errors are *Error without a File (Line set where a line is known), and
// never contain either token or any other value from the file.
func SetOAuthTokens(data []byte, profile, accessToken, refreshToken string) ([]byte, error) {
	if problem := secretProblem(accessToken); problem != "" {
		return nil, &Error{Msg: "access token " + problem}
	}
	if problem := secretProblem(refreshToken); problem != "" {
		return nil, &Error{Msg: "refresh token " + problem}
	}
	// One value at a time, each on the text the previous one produced: the
	// second edit's positions come from a fresh decode. Both lookups check
	// the whole oauth mapping, so every refusal comes from the first, on the
	// caller's own lines.
	out, err := setValue(data, refreshToken, "refresh token", oauthFinder(profile, "refresh_token"))
	if err != nil {
		return nil, err
	}
	return setValue(out, accessToken, "access token", oauthFinder(profile, "access_token"))
}

// oauthFinder returns the lookup of setValue for the key (refresh_token or
// access_token) of profile's oauth mapping.
func oauthFinder(profile, key string) func(root *yaml.Node) (slot, error) {
	return func(root *yaml.Node) (slot, error) {
		target, err := findProfile(root, profile)
		if err != nil {
			return slot{}, err
		}
		refresh, access, err := target.oauthSlots()
		if key == "refresh_token" {
			return refresh, err
		}
		return access, err
	}
}

// oauthSlots locates refresh_token and access_token in the profile's oauth
// mapping; a new access_token goes just after refresh_token. A profile whose
// token comes from elsewhere is refused, and so is an oauth value that is
// not a mapping of its own or has no refresh_token.
func (t profileTarget) oauthSlots() (refresh, access slot, err error) {
	index, other, err := t.source("oauth")
	switch {
	case err != nil:
		return slot{}, slot{}, err
	case other != "":
		return slot{}, slot{}, &Error{Line: t.mapping.Content[2*index].Line, Msg: "profile " + shown(t.name) + " takes its token from " + other + ", not from oauth"}
	case index < 0:
		e := &Error{Msg: "profile " + shown(t.name) + " does not use oauth: it has no token source"}
		if !t.topLevel {
			e.Line = t.mapping.Line
		}
		return slot{}, slot{}, e
	}
	keyNode, oauth := t.mapping.Content[2*index], t.mapping.Content[2*index+1]
	in := " of the oauth of profile " + shown(t.name)
	switch {
	case resolve(oauth).Kind != yaml.MappingNode:
		return slot{}, slot{}, &Error{Line: keyNode.Line, Msg: "the oauth of profile " + shown(t.name) + " is not a mapping"}
	case oauth.Kind != yaml.MappingNode || oauth.Anchor != "":
		return slot{}, slot{}, &Error{Line: keyNode.Line, Msg: "the oauth of profile " + shown(t.name) +
			" is a YAML alias or anchor, possibly shared with another profile; update it by hand"}
	}
	slots := [2]slot{}
	for n, key := range []string{"refresh_token", "access_token"} {
		s := slot{mapping: oauth, key: key, index: -1, after: "refresh_token"}
		for i := 0; i+1 < len(oauth.Content); i += 2 {
			if resolve(oauth.Content[i]).Value != key {
				continue
			}
			if s.index >= 0 {
				return slot{}, slot{}, &Error{Line: oauth.Content[i].Line, Msg: "duplicate key " + shown(key) + in}
			}
			s.index = i / 2
		}
		if err := s.checkPlain("the " + key + in); err != nil {
			return slot{}, slot{}, err
		}
		slots[n] = s
	}
	if slots[0].index < 0 {
		return slot{}, slot{}, &Error{Line: keyNode.Line, Msg: "the oauth of profile " + shown(t.name) + " has no refresh_token"}
	}
	return slots[0], slots[1], nil
}
