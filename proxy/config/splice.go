package config

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// editor changes one value of a config file by splicing its text, so that
// everything else (comments, blank lines, quoting, key order) stays byte for
// byte. Every splice is checked by decoding the result and comparing it with
// the expected tree; when no splice passes, the document is re-encoded.
type editor struct {
	data   []byte
	starts []int      // byte offset of each line's start (YAML line breaks)
	doc    *yaml.Node // document node of data
	root   *yaml.Node // its top-level mapping; edited in memory into the expected tree
}

// set writes value (already $-escaped) into s.
func (e *editor) set(s slot, value string) ([]byte, bool) {
	if s.index >= 0 {
		return e.replace(s.mapping.Content[2*s.index+1], value)
	}
	return e.add(s, value)
}

// replace sets the scalar val to value, keeping its quoting style where the
// value allows it.
func (e *editor) replace(val *yaml.Node, value string) ([]byte, bool) {
	style := val.Style & (yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle)
	if style == 0 && !plainSafe(value) {
		style = yaml.DoubleQuotedStyle
	}
	start, end, prefix, ok := e.valueSpan(val)
	val.Value, val.Tag, val.Style = value, "!!str", style
	if ok {
		out := splice(e.data, start, end, prefix+scalarText(value, style))
		if e.matches(out) {
			return out, true
		}
	}
	return e.reencode()
}

// add inserts the key s.key with value into s.mapping.
func (e *editor) add(s slot, value string) ([]byte, bool) {
	style := yaml.Style(0)
	if !plainSafe(value) {
		style = yaml.DoubleQuotedStyle
	}
	key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s.key}
	val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value, Style: style}
	m := s.mapping
	for _, ins := range e.insertions(s, s.key+": "+scalarText(value, style)) {
		out := splice(e.data, ins.offset, ins.offset, ins.text)
		old := m.Content
		m.Content = append(append(append([]*yaml.Node{}, old[:2*ins.index]...), key, val), old[2*ins.index:]...)
		if e.matches(out) {
			return out, true
		}
		m.Content = old
	}
	m.Content = append(m.Content, key, val)
	return e.reencode()
}

// insertion is one way to add an entry to a mapping: text inserted at byte
// offset, which becomes the mapping's pair number index.
type insertion struct {
	offset int
	text   string
	index  int
}

// insertions lists, best first, the ways entry ("key: value") could be added
// to s.mapping, which has at least one key: in a flow mapping, right after
// the value of s.after (or of the last key); in a block mapping, as a line of
// its own (see insertPoints).
func (e *editor) insertions(s slot, entry string) []insertion {
	m := s.mapping
	if len(m.Content) < 2 {
		return nil
	}
	if m.Style&yaml.FlowStyle != 0 {
		at := keyIndex(m, s.after)
		if at < 0 {
			at = len(m.Content)/2 - 1
		}
		if _, end, _, ok := e.valueSpan(m.Content[2*at+1]); ok {
			return []insertion{{offset: end, text: ", " + entry, index: at + 1}}
		}
		return nil
	}
	newline := "\n"
	if bytes.Contains(e.data, []byte("\r\n")) {
		newline = "\r\n"
	}
	var out []insertion
	for _, at := range e.insertPoints(s) {
		text := strings.Repeat(" ", at.indent) + entry + newline
		if at.offset == len(e.data) && len(e.data) > 0 && !endsWithBreak(e.data) {
			text = newline + text
		}
		index := 0 // pairs before the new line
		for i := 0; i < len(m.Content); i += 2 {
			if m.Content[i].Line < at.line {
				index++
			}
		}
		out = append(out, insertion{offset: at.offset, text: text, index: index})
	}
	return out
}

// insertPoint is the start of a line where a new key line may go.
type insertPoint struct {
	offset int // byte offset in data
	line   int // 1-based line number the new line gets
	indent int // spaces before the key
}

// insertPoints lists, best first, where a line for s.key could be added to
// s.mapping (a block mapping with at least one key).
func (e *editor) insertPoints(s slot) []insertPoint {
	m := s.mapping
	first := m.Content[0]
	var points []insertPoint
	if s.hint {
		// Just below a "# token: ntn_..." hint such as the starter
		// config's, then at the end of the file.
		if li := e.hintLine(s.key); li >= 0 {
			points = append(points, e.lineAfter(li, first.Column-1))
		}
		return append(points, insertPoint{offset: len(e.data), line: len(e.starts) + 1, indent: first.Column - 1})
	}
	// On its own line before the key that follows s.after, or after the
	// line of s.after (the first key when s.after is absent).
	anchor := 2 * max(keyIndex(m, s.after), 0)
	for i := anchor + 2; i < len(m.Content); i += 2 {
		k := m.Content[i]
		if off, ok := e.offset(k.Line, k.Column); ok && onlySpaces(e.data[e.starts[k.Line-1]:off]) {
			points = append(points, insertPoint{offset: e.starts[k.Line-1], line: k.Line, indent: k.Column - 1})
			break
		}
	}
	k := m.Content[anchor]
	if k.Line >= 1 && k.Line <= len(e.starts) {
		points = append(points, e.lineAfter(k.Line-1, k.Column-1))
	}
	return points
}

// lineAfter is the insert point at the start of the line after line index li
// (0-based), or at the end of the data.
func (e *editor) lineAfter(li, indent int) insertPoint {
	if li+1 < len(e.starts) {
		return insertPoint{offset: e.starts[li+1], line: li + 2, indent: indent}
	}
	return insertPoint{offset: len(e.data), line: len(e.starts) + 1, indent: indent}
}

// hintLine returns the 0-based index of the first line that starts with a
// commented-out key ("# token: ..."), or -1.
func (e *editor) hintLine(key string) int {
	for li, start := range e.starts {
		line := e.data[start:]
		if li+1 < len(e.starts) {
			line = e.data[start:e.starts[li+1]]
		}
		rest, ok := bytes.CutPrefix(line, []byte("#"))
		if ok && bytes.HasPrefix(bytes.TrimLeft(rest, " \t"), []byte(key+":")) {
			return li
		}
	}
	return -1
}

// valueSpan finds the text of the single-line or quoted scalar val in data:
// the bytes [start, end) to replace, and a prefix the replacement needs (a
// space, for an empty value right after its colon).
func (e *editor) valueSpan(val *yaml.Node) (start, end int, prefix string, ok bool) {
	pos, ok := e.offset(val.Line, val.Column)
	if !ok {
		return 0, 0, "", false
	}
	rest := e.data[pos:]
	switch {
	case val.Style == yaml.DoubleQuotedStyle && len(rest) > 0 && rest[0] == '"':
		for i := 1; i < len(rest); i++ {
			switch rest[i] {
			case '\\':
				i++
			case '"':
				return pos, pos + i + 1, "", true
			}
		}
	case val.Style == yaml.SingleQuotedStyle && len(rest) > 0 && rest[0] == '\'':
		for i := 1; i < len(rest); i++ {
			if rest[i] == '\'' {
				if i+1 < len(rest) && rest[i+1] == '\'' {
					i++
					continue
				}
				return pos, pos + i + 1, "", true
			}
		}
	case val.Style == 0 && val.Value == "":
		if pos > 0 && e.data[pos-1] == ':' {
			return pos, pos, " ", true
		}
	case val.Style == 0 && bytes.HasPrefix(rest, []byte(val.Value)):
		end := pos + len(val.Value)
		if end == len(e.data) || strings.IndexByte(" \t\r\n,]}", e.data[end]) >= 0 {
			return pos, end, "", true
		}
	}
	return 0, 0, "", false
}

// offset converts a YAML mark (1-based line, 1-based column counted in
// characters) into a byte offset in data.
func (e *editor) offset(line, col int) (int, bool) {
	if line < 1 || line > len(e.starts) || col < 1 {
		return 0, false
	}
	pos := e.starts[line-1]
	for ; col > 1; col-- {
		if pos >= len(e.data) || breakLen(e.data[pos:]) > 0 {
			return 0, false
		}
		_, size := utf8.DecodeRune(e.data[pos:])
		pos += size
	}
	return pos, true
}

// matches reports whether out decodes to e.root, the expected tree.
func (e *editor) matches(out []byte) bool {
	_, root, err := decodeDocument(out)
	return err == nil && sameTree(e.root, root)
}

// reencode writes the expected tree out with the YAML encoder (comments kept,
// layout normalised) and checks the result.
func (e *editor) reencode() ([]byte, bool) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(e.doc); err != nil {
		return nil, false
	}
	if err := enc.Close(); err != nil {
		return nil, false
	}
	out := buf.Bytes()
	return out, e.matches(out)
}

// sameTree reports whether two YAML trees mean the same to Parse: same kinds,
// values, anchors, nulls and merge keys, in the same order. Aliases compare
// by the anchor they name and are not followed, so cycles are harmless.
func sameTree(a, b *yaml.Node) bool {
	if a.Kind != b.Kind || a.Value != b.Value || a.Anchor != b.Anchor ||
		isNull(a) != isNull(b) || (a.ShortTag() == "!!merge") != (b.ShortTag() == "!!merge") ||
		len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !sameTree(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

// plainSafe reports whether v can be written as a plain (unquoted) YAML
// scalar that reads back as the same string everywhere, flow context
// included: not a number, boolean or null either, which Parse refuses
// where a token belongs.
func plainSafe(v string) bool {
	if plain := (yaml.Node{Kind: yaml.ScalarNode, Value: v}); v == "" || plain.ShortTag() != "!!str" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && strings.IndexByte(".~+/=-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// scalarText writes v as YAML text in the given style (plain, single- or
// double-quoted). v has no control characters.
func scalarText(v string, style yaml.Style) string {
	switch style {
	case yaml.DoubleQuotedStyle:
		return strconv.Quote(v)
	case yaml.SingleQuotedStyle:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return v
}

// splice returns a new slice: data with [start, end) replaced by text.
func splice(data []byte, start, end int, text string) []byte {
	out := make([]byte, 0, len(data)-(end-start)+len(text))
	out = append(out, data[:start]...)
	out = append(out, text...)
	return append(out, data[end:]...)
}

// lineStarts returns the byte offset of the start of every line, by YAML's
// line breaks (\r\n, \r, \n, NEL, LS, PS). A leading byte order mark is not
// part of line 1, as YAML columns do not count it.
func lineStarts(data []byte) []int {
	first := 0
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		first = 3
	}
	starts := []int{first}
	for i := first; i < len(data); {
		if n := breakLen(data[i:]); n > 0 {
			i += n
			starts = append(starts, i)
			continue
		}
		i++
	}
	return starts
}

// breakLen is the length of the line break at the start of b, or 0.
func breakLen(b []byte) int {
	switch {
	case bytes.HasPrefix(b, []byte("\r\n")):
		return 2
	case len(b) > 0 && (b[0] == '\r' || b[0] == '\n'):
		return 1
	case bytes.HasPrefix(b, []byte("\u0085")):
		return 2
	case bytes.HasPrefix(b, []byte("\u2028")), bytes.HasPrefix(b, []byte("\u2029")):
		return 3
	}
	return 0
}

func endsWithBreak(data []byte) bool {
	return len(data) > 0 && (data[len(data)-1] == '\n' || data[len(data)-1] == '\r')
}

func onlySpaces(b []byte) bool {
	return len(bytes.TrimLeft(b, " ")) == 0
}
