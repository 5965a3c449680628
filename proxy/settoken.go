package proxy

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/notion-proxy/notion-proxy/internal/atomicfile"
	"github.com/notion-proxy/notion-proxy/proxy/config"
)

// CheckToken says what is wrong with a token a person typed or pasted
// (already trimmed), or nil. It never looks at prefixes (tokens are
// opaque) and its error never holds the token.
func CheckToken(token string) error {
	switch {
	case token == "":
		return errors.New("the token is empty")
	case !utf8.ValidString(token):
		return errors.New("the token is not valid UTF-8")
	case strings.IndexFunc(token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return errors.New("the token must be one word (no spaces or line breaks)")
	}
	return nil
}

// SetTokenInFile writes token as the inline token of profile ("" = the
// first) into the config file at path, the way `notion-proxy token set`
// does: atomically (temporary file and rename), comments and the rest of
// the file kept, and only if the result is a valid config (getenv expands
// it as a reload would). A missing file is created from the starter
// config. Errors never hold the token.
func SetTokenInFile(path, profile, token string, getenv func(string) string) error {
	if err := CheckToken(token); err != nil {
		return err
	}
	return atomicfile.Edit(path, config.StarterConfig(), func(data []byte) ([]byte, error) {
		out, err := config.SetToken(data, profile, token)
		if err != nil {
			return nil, fmt.Errorf("set token in %s: %w", path, err)
		}
		if _, err := config.Parse(out, path, getenv); err != nil {
			return nil, fmt.Errorf("config would not be valid: %w", err)
		}
		return out, nil
	})
}

// SetTokenFile writes token, with a final newline, as the whole content
// of a token_file, atomically and keeping the file's mode (0600 for a new
// file).
func SetTokenFile(path, token string) error {
	if err := CheckToken(token); err != nil {
		return err
	}
	return atomicfile.Edit(path, nil, func([]byte) ([]byte, error) { return []byte(token + "\n"), nil })
}
