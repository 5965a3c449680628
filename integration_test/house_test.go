package integration_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
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
