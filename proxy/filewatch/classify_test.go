package filewatch

import (
	"testing"

	"github.com/fsnotify/fsnotify"
)

func TestClassify(t *testing.T) {
	names := wanted("/etc/np/notion-proxy.yaml", []string{"/run/secrets/notion", "/etc/np/token"})
	full := func(string) bool { return true }
	empty := func(string) bool { return false }
	for _, tc := range []struct {
		desc     string
		ev       fsnotify.Event
		nonEmpty func(string) bool
		want     action
	}{
		{"the config renamed into place is read at once",
			fsnotify.Event{Name: "/etc/np/notion-proxy.yaml", Op: fsnotify.Create}, full, reloadAtOnce},
		{"a token_file renamed into place is read at once",
			fsnotify.Event{Name: "/run/secrets/notion", Op: fsnotify.Create}, full, reloadAtOnce},
		{"a token_file beside the config renamed into place is read at once",
			fsnotify.Event{Name: "/etc/np/token", Op: fsnotify.Create}, full, reloadAtOnce},
		{"a Kubernetes ..data swap is read at once",
			fsnotify.Event{Name: "/run/secrets/..data", Op: fsnotify.Create}, empty, reloadAtOnce},
		{"a config created empty is being written: gathered",
			fsnotify.Event{Name: "/etc/np/notion-proxy.yaml", Op: fsnotify.Create}, empty, gatherEvent},
		{"an in-place write is gathered",
			fsnotify.Event{Name: "/etc/np/notion-proxy.yaml", Op: fsnotify.Write}, full, gatherEvent},
		{"a token_file written in place is gathered",
			fsnotify.Event{Name: "/run/secrets/notion", Op: fsnotify.Write}, full, gatherEvent},
		{"the config removed is gathered (a save may follow)",
			fsnotify.Event{Name: "/etc/np/notion-proxy.yaml", Op: fsnotify.Remove}, full, gatherEvent},
		{"a log file beside the config is ignored",
			fsnotify.Event{Name: "/etc/np/proxy.log", Op: fsnotify.Write}, full, ignoreEvent},
		{"an editor's swap file is ignored",
			fsnotify.Event{Name: "/etc/np/.notion-proxy.yaml.swp", Op: fsnotify.Create}, full, ignoreEvent},
		{"the temporary file of an atomic write, renamed away, is ignored",
			fsnotify.Event{Name: "/etc/np/.notion-proxy.yaml.tmp123", Op: fsnotify.Rename}, full, ignoreEvent},
		{"another file in a token_file's directory is ignored",
			fsnotify.Event{Name: "/run/secrets/other", Op: fsnotify.Create}, full, ignoreEvent},
		{"the config's directory removed",
			fsnotify.Event{Name: "/etc/np", Op: fsnotify.Remove}, full, dirGone},
		{"a token_file's directory moved away",
			fsnotify.Event{Name: "/run/secrets", Op: fsnotify.Rename}, full, dirGone},
		{"a watched directory's attributes changed is ignored",
			fsnotify.Event{Name: "/etc/np", Op: fsnotify.Chmod}, full, ignoreEvent},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := classify(tc.ev, names, tc.nonEmpty); got != tc.want {
				t.Errorf("classify(%v) = %d, want %d", tc.ev, got, tc.want)
			}
		})
	}
}
