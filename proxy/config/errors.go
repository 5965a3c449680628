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
	last := len(lineStarts(data))
	if last > 1 && endsWithBreak(data) {
		last-- // the empty "line" after the final newline
	}
	line = min(line, last)
	return &Error{File: file, Line: line, Msg: "invalid YAML: " + msg}
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
