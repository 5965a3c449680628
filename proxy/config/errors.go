package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Error is the error Parse returns for every config problem, and SetToken for
// problems it can place in the file. It carries the file and line of the
// offending key or value, so a reload can log exactly where the problem is.
// Msg never contains a token or another secret value from the file.
//
// Callers can recover it with errors.As, also through Load's wrapping.
type Error struct {
	File string // the path given to Parse; "" when parsed from bytes alone
	Line int    // 1-based line in File; 0 when the problem has no single line
	Msg  string // what is wrong and, where it helps, what to write instead
}

// Error formats the error as "FILE:LINE: MSG", or "FILE: MSG" when Line is 0.
// Without a File it reads "line LINE: MSG", or just MSG.
func (e *Error) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
	case e.File != "":
		return e.File + ": " + e.Msg
	case e.Line > 0:
		return "line " + strconv.Itoa(e.Line) + ": " + e.Msg
	default:
		return e.Msg
	}
}

// yamlError turns an error of the YAML decoder ("yaml: line 3: did not find
// expected key") into an *Error with the line split out. A problem found at
// the end of the stream is placed on data's last line.
func yamlError(file string, data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, convErr := strconv.Atoi(num); convErr == nil && n > 0 {
				line, msg = n, after
			}
		}
	}
	if isParserProblem(msg) {
		// yaml.v3 reports a parser (not scanner) error at the 0-based line
		// of the construct being parsed, and no line for the first line.
		line++
	}
	if line == 0 && len(data) > 0 {
		// yaml.v3 leaves out the line when it is the (0-based) first.
		line = 1
	}
	last := len(lineStarts(data))
	if last > 1 && endsWithBreak(data) {
		last-- // the empty "line" after the final newline
	}
	line = min(line, last)
	if plain, at := plainYAMLProblem(data, msg, line); plain != "" {
		return &Error{File: file, Line: at, Msg: "invalid YAML: " + plain}
	}
	return &Error{File: file, Line: line, Msg: "invalid YAML: " + msg}
}

// plainYAMLProblem explains, in plain words and at the line where it is,
// a YAML problem that yaml.v3 words for its own authors: a tab used for
// indentation, and a quoted value that is never closed. It returns "" when
// msg is neither, or when the line cannot be found.
func plainYAMLProblem(data []byte, msg string, line int) (string, int) {
	lines := textLines(data)
	switch msg {
	case "found a tab character that violates indentation",
		"found a tab character where an indentation space is expected",
		"found character that cannot start any token":
		// The reported line is where the enclosing value started; the tab
		// is on it or below.
		for i := max(line, 1); i <= len(lines); i++ {
			if indent := lines[i-1][:len(lines[i-1])-len(strings.TrimLeft(lines[i-1], " \t"))]; strings.Contains(indent, "\t") {
				return "this line is indented with a tab: YAML indents with spaces only (replace the tab with spaces)", i
			}
			if msg == "found character that cannot start any token" {
				break // another character than a tab: keep yaml.v3's words
			}
		}
	case "found unexpected end of stream":
		// The only cause is a quoted value with no closing quote. yaml.v3
		// names the line where the quote opened, except when that is the
		// first line: then it names the end of the file.
		if line < 1 || line > len(lines) {
			return "", 0
		}
		if !strings.ContainsAny(lines[line-1], `"'`) {
			for i, l := range lines {
				if strings.ContainsAny(l, `"'`) {
					line = i + 1
					break
				}
			}
		}
		if i := strings.IndexAny(lines[line-1], `"'`); i >= 0 {
			q := lines[line-1][i : i+1]
			return "the quoted value that starts on this line has no closing " + q +
				" (add one where the value ends)", line
		}
	}
	return "", 0
}

// textLines splits data into its lines, without line breaks.
func textLines(data []byte) []string {
	text := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

// isParserProblem reports whether msg is one of the problems of yaml.v3's
// parser stage (parserc.go), as opposed to its scanner stage, whose lines are
// already 1-based.
func isParserProblem(msg string) bool {
	for _, p := range []string{
		"did not find expected ',' or ']'",
		"did not find expected ',' or '}'",
		"did not find expected '-' indicator",
		"did not find expected <document start>",
		"did not find expected <stream-start>",
		"did not find expected key",
		"did not find expected node content",
		"found duplicate %TAG directive",
		"found duplicate %YAML directive",
		"found incompatible YAML document",
		"found undefined tag handle",
	} {
		if msg == p {
			return true
		}
	}
	return false
}

// shown quotes a value from the file for an error message, unless it could be
// a secret pasted into the wrong place: long values (Notion tokens are about
// 50 characters) and values with spaces or control characters are described
// by their length only.
func shown(v string) string {
	if len(v) > 32 || strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return fmt.Sprintf("(%d characters, not shown)", len(v))
	}
	return strconv.Quote(v)
}
