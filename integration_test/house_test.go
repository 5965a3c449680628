package integration_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
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
