package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// Load reads the config file at path and parses it with Parse, expanding
// ${NAME} from the process environment. The path is made absolute first, so
// Config.Path and the relative paths inside the file do not depend on a later
// change of working directory.
//
// Every error starts with the file's absolute path: a file that does not
// parse or validate yields Parse's *Error ("FILE:LINE: ...", errors.As), and
// a file that cannot be read "FILE: reason", where a missing file satisfies
// errors.Is(err, fs.ErrNotExist).
func Load(path string) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already the message's first word
		}
		return nil, fmt.Errorf("%s: read config: %w", abs, err)
	}
	return Parse(data, abs, os.Getenv)
}

// Parse decodes and validates one config file's contents (docs/design.md#config-and-reloads) into a
// new Config with every default filled in.
//
// path is the file the data came from: it names the file in errors, and its
// directory is the base of the relative paths in the file (ca_dir,
// upstream_ca, token_file) and the default ca_dir. A relative path is made
// absolute against the working directory; with path "" the working directory
// itself is the base and Config.Path is "".
//
// getenv supplies the values of ${NAME} references in string values (keys
// are never expanded); nil means every variable is unset. A reference to a
// variable that is unset or empty reads as "" and is listed in
// Config.Unset, for check and run to warn of. token_env and
// token_file are not read here: they are resolved at run time, so an unset
// token_env variable is not a Parse error.
//
// Every error is an *Error with the line of the offending key or value, and
// never contains a token. An empty document (no content, or only comments) is
// an error, so a half-written file seen during an editor's save cannot
// replace a working config.
func Parse(data []byte, path string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	p := &parser{file: path, getenv: getenv}
	abs := ""
	if path != "" {
		abs = path
		if a, err := filepath.Abs(path); err == nil {
			abs = a
		}
		p.dir = filepath.Dir(abs)
	} else if wd, err := os.Getwd(); err == nil {
		p.dir = wd
	}
	_, root, err := parseRoot(path, data)
	if err != nil {
		return nil, err
	}
	cfg, err := p.config(root)
	if err != nil {
		return nil, err
	}
	cfg.Path = abs
	cfg.Unset = p.unset
	return cfg, nil
}

// parser holds what one Parse call needs besides the YAML tree.
type parser struct {
	file   string              // for messages
	dir    string              // absolute base of relative paths
	getenv func(string) string // never nil
	unset  []UnsetVariable     // ${NAME}s read as "", in file order
}

// pair is one key and value of a YAML mapping. val has aliases resolved;
// keyNode is where the entry is, for messages.
type pair struct {
	key     string
	keyNode *yaml.Node
	val     *yaml.Node
}

func (p *parser) errAt(n *yaml.Node, format string, args ...any) *Error {
	e := &Error{File: p.file, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line = n.Line
	}
	return e
}

// wrapAt turns a plain validation error into an *Error at node n.
func (p *parser) wrapAt(n *yaml.Node, err error) *Error {
	return p.errAt(n, "%s", err.Error())
}

// parseRoot decodes data into exactly one YAML document whose top level is a
// mapping. Problems are *Error values naming file.
func parseRoot(file string, data []byte) (doc, root *yaml.Node, err error) {
	doc, root, err = decodeDocument(data)
	var docErr *documentError
	switch {
	case errors.As(err, &docErr):
		e := &Error{File: file, Msg: docErr.msg}
		if docErr.at != nil {
			e.Line = docErr.at.Line
		}
		return nil, nil, e
	case err != nil:
		return nil, nil, yamlError(file, data, err)
	case root.Kind != yaml.MappingNode:
		return nil, nil, &Error{File: file, Line: root.Line,
			Msg: "the config must be a mapping of keys to values, not a " + kindName(root)}
	}
	return doc, root, nil
}

// documentError is a structural problem of the YAML stream found by
// decodeDocument.
type documentError struct {
	at  *yaml.Node
	msg string
}

func (e *documentError) Error() string { return e.msg }

// decodeDocument parses data as a single YAML document and returns the
// document node and its top-level node (aliases resolved). An empty stream or
// a null document is a *documentError "config is empty"; a second document is
// a *documentError too.
func decodeDocument(data []byte) (doc, root *yaml.Node, err error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	doc = &yaml.Node{}
	if err := dec.Decode(doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, &documentError{msg: "config is empty"}
		}
		return nil, nil, err
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, nil, &documentError{at: &next, msg: "the config must be a single YAML document (remove the second ---)"}
	} else if !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, nil, &documentError{msg: "config is empty"}
	}
	root = resolve(doc.Content[0])
	if isNull(root) {
		return nil, nil, &documentError{msg: "config is empty"}
	}
	return doc, root, nil
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// kindName names a node's kind for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	default:
		return "YAML node"
	}
}

// pairs lists the entries of mapping n, rejecting keys that are not single
// values and keys given twice.
func (p *parser) pairs(n *yaml.Node) ([]pair, error) {
	out := make([]pair, 0, len(n.Content)/2)
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		keyNode := n.Content[i]
		k := resolve(keyNode)
		if k.Kind != yaml.ScalarNode {
			return nil, p.errAt(keyNode, "a key must be a single value, not a %s", kindName(k))
		}
		if k.ShortTag() == "!!merge" {
			return nil, p.errAt(keyNode, "YAML merge keys (<<) are not supported")
		}
		if first, dup := seen[k.Value]; dup {
			return nil, p.errAt(keyNode, "duplicate key %s (first at line %d)", shown(k.Value), first)
		}
		seen[k.Value] = keyNode.Line
		out = append(out, pair{key: k.Value, keyNode: keyNode, val: resolve(n.Content[i+1])})
	}
	return out, nil
}

// unknownKey is the error for a key that the schema does not have. in names
// the enclosing mapping ("" for the top level).
func (p *parser) unknownKey(pr pair, in string) *Error {
	if in == "" {
		return p.errAt(pr.keyNode, "unknown key %s", shown(pr.key))
	}
	return p.errAt(pr.keyNode, "unknown key %s in %s", shown(pr.key), in)
}

// section returns the entries of a nested mapping such as pause or log; a
// null value is an empty mapping.
func (p *parser) section(pr pair, name string) ([]pair, error) {
	switch {
	case isNull(pr.val):
		return nil, nil
	case pr.val.Kind != yaml.MappingNode:
		return nil, p.errAt(pr.keyNode, "%s must be a mapping, not a %s", name, kindName(pr.val))
	}
	return p.pairs(pr.val)
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// str returns the ${NAME}-expanded text of a single value; null is "".
// The text is used as written: "2022-06-28" stays a string even though YAML
// would read it as a date.
func (p *parser) str(pr pair, name string) (string, error) {
	return p.scalar(pr.val, pr.keyNode, name)
}

func (p *parser) scalar(n, at *yaml.Node, name string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", p.errAt(at, "%s must be a single value, not a %s", name, kindName(n))
	}
	if n.ShortTag() == "!!null" {
		return "", nil
	}
	v, ok := expand(n.Value, p.getenv)
	if !ok {
		return "", p.errAt(at, "%s: malformed ${...}: write ${NAME} with a name of letters, digits and _, or $${ for a literal ${", name)
	}
	for _, unset := range p.unsetNames(n.Value) {
		p.unset = append(p.unset, UnsetVariable{Name: unset, Key: name, Line: at.Line})
	}
	return v, nil
}

// path resolves a path from the file against the config's directory.
func (p *parser) path(v string) string {
	if filepath.IsAbs(v) || p.dir == "" {
		return filepath.Clean(v)
	}
	return filepath.Join(p.dir, v)
}

// defaults returns a Config holding every default (README, Config).
func (p *parser) defaults() *Config {
	return &Config{
		Listen:        DefaultListen,
		Upstream:      &url.URL{Scheme: "https", Host: "api.notion.com"},
		CADir:         p.dir,
		NotionVersion: "2022-06-28",
		OtherHosts:    OtherHostsTunnel,
		Log:           Log{Level: "info", Format: "auto"},
		Pause:         Pause{Timeout: defaultPauseTimeout, MaxQueued: 10000},
		MaxBodyBytes:  52428800,
		Retry:         Retry{RateLimited: true, MaxWait: defaultRetryMaxWait, Transient: true},
		Shared:        defaultShared(),
	}
}
