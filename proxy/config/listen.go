package config

import "gopkg.in/yaml.v3"

// DefaultListen is where the proxy listens when the config sets no listen.
const DefaultListen = "127.0.0.1:8787"

// ListenOf returns the listen address that a config file's contents name,
// reading only the top-level listen key (${NAME}-expanded with getenv, nil
// meaning every variable is unset): for a file that does not parse as a
// whole, such as one a person is fixing while the proxy keeps serving its
// last good config. A file whose YAML cannot be read, or whose listen is
// absent, empty or not host:port, yields DefaultListen.
func ListenOf(data []byte, getenv func(string) string) string {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	_, root, err := decodeDocument(data)
	if err != nil || root.Kind != yaml.MappingNode {
		return DefaultListen
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := resolve(root.Content[i]), resolve(root.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.Value != "listen" || v.Kind != yaml.ScalarNode || isNull(v) {
			continue
		}
		if s, ok := expand(v.Value, getenv); ok && s != "" && checkListen(s) == nil {
			return s
		}
		return DefaultListen
	}
	return DefaultListen
}
