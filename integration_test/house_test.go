package integration_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// repoGoFiles lists the repository's Go files (test files too when tests
// is true), as paths relative to the repository root.
func repoGoFiles(t *testing.T, tests bool) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != "..") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && (tests || !strings.HasSuffix(path, "_test.go")) {
			rel, _ := filepath.Rel("..", path)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no Go files found above integration_test")
	}
	return files
}

// TestNoLogFieldIsABareDuration: zerolog's Dur, Durs and TimeDiff write a
// number whose unit is a process-wide setting and is not in the field's
// name. Durations are logged as …_ms (a float) or as text.
func TestNoLogFieldIsABareDuration(t *testing.T) {
	unitless := regexp.MustCompile(`\.(Dur|Durs|TimeDiff)\(`)
	for _, file := range repoGoFiles(t, false) {
		data, err := os.ReadFile(filepath.Join("..", file))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if unitless.MatchString(line) {
				t.Errorf("%s:%d: a log field with no unit: %s (log float64 …_ms or the duration as text)", file, i+1, strings.TrimSpace(line))
			}
		}
	}
}

// TestTheBinaryLinksNoTestCode: nothing under integration_test/ is in the
// binary, and none of this module's packages in it imports "testing" (the
// test helpers such as internal/testwait and internal/redistest do). The
// fake Notion of `notion-proxy demo` is internal/fakenotion, which is
// shared code, not test code.
func TestTheBinaryLinksNoTestCode(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \",\"}}", "./cmd/notion-proxy")
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const module = "github.com/notion-proxy/notion-proxy"
	ours := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		if pkg != module && !strings.HasPrefix(pkg, module+"/") {
			continue
		}
		ours++
		if strings.HasPrefix(pkg, module+"/integration_test") {
			t.Errorf("the binary links %s", pkg)
		}
		if slices.Contains(strings.Split(imports, ","), "testing") {
			t.Errorf("the binary links %s, which imports testing", pkg)
		}
	}
	if ours < 2 {
		t.Fatalf("go list found %d of the module's packages:\n%s", ours, out)
	}
}

// TestEveryDesignAnchorIsAHeading: every link into docs/design.md with an
// anchor ("docs/design.md#" and the anchor) in the repository, and every
// in-page link inside docs/design.md and README.md, names a heading of
// that file (GitHub's anchors).
func TestEveryDesignAnchorIsAHeading(t *testing.T) {
	anchorsOf := func(file string) map[string]bool {
		data, err := os.ReadFile(filepath.Join("..", file))
		if err != nil {
			t.Fatal(err)
		}
		anchors := map[string]bool{}
		inFence := false
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "```") {
				inFence = !inFence
			}
			if !inFence && strings.HasPrefix(line, "#") {
				anchors[githubAnchor(strings.TrimLeft(line, "#"))] = true
			}
		}
		return anchors
	}
	design := anchorsOf("docs/design.md")
	if !design["the-gate-pause-and-replay"] {
		t.Fatalf("anchors of docs/design.md lack the gate's: %v", design)
	}
	toDesign := regexp.MustCompile(`design\.md#([A-Za-z0-9_-]+)`)
	inPage := regexp.MustCompile(`\]\(#([A-Za-z0-9_-]+)\)`)
	checked := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && d.Name() != ".ci" && path != ".." {
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil || len(data) > 4<<20 || bytes.IndexByte(data, 0) >= 0 {
			return err // a binary or large file holds no links
		}
		rel, _ := filepath.Rel("..", path)
		for _, m := range toDesign.FindAllStringSubmatch(string(data), -1) {
			checked++
			if !design[m[1]] {
				t.Errorf("%s: docs/design.md#%s is no heading of docs/design.md", rel, m[1])
			}
		}
		if rel == filepath.Join("docs", "design.md") || rel == "README.md" {
			own := anchorsOf(rel)
			for _, m := range inPage.FindAllStringSubmatch(string(data), -1) {
				checked++
				if !own[m[1]] {
					t.Errorf("%s: #%s is no heading of it", rel, m[1])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("only %d anchors found: the walk missed the repository", checked)
	}
}

// githubAnchor is the anchor GitHub gives a Markdown heading: lower case,
// spaces as hyphens, every character but letters, digits, '-' and '_'
// dropped.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestEveryErrorCodeIsWrittenOnce: each proxy_… error code of the proxy's
// own answers is one named constant in the code (comments may quote it),
// and so is gate.ErrClosed's "proxy is shutting down".
func TestEveryErrorCodeIsWrittenOnce(t *testing.T) {
	literal := regexp.MustCompile(`"(proxy_[a-z_]+|proxy is shutting down)"`)
	where := map[string][]string{}
	for _, file := range repoGoFiles(t, false) {
		if strings.HasPrefix(file, filepath.Join("proxy", "config")+string(filepath.Separator)) {
			continue // config keys such as proxy_auth are not error codes
		}
		data, err := os.ReadFile(filepath.Join("..", file))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			for _, m := range literal.FindAllStringSubmatch(line, -1) {
				where[m[1]] = append(where[m[1]], fmt.Sprintf("%s:%d", file, i+1))
			}
		}
	}
	if len(where) < 5 {
		t.Fatalf("found only %v: the scan missed the code", where)
	}
	for code, at := range where {
		if len(at) > 1 {
			t.Errorf("%q is written %d times: %v; name it once", code, len(at), at)
		}
	}
}
