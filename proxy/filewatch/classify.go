package filewatch

import (
	"os"
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

// action is what the watcher does with one file system event.
type action int

const (
	ignoreEvent  action = iota // another file: not ours
	gatherEvent                // an in-place change: reload after the window
	reloadAtOnce               // a file renamed into place: it is whole now
	dirGone                    // a watched directory was removed or moved away
)

// classify says what ev means for a watcher interested in names (as
// returned by wanted). nonEmpty reports whether a file holds any byte: a
// file created empty is being written in place, one that appears with
// content was renamed into place (or written in one go) and is read at
// once.
func classify(ev fsnotify.Event, names map[string]map[string]bool, nonEmpty func(string) bool) action {
	if names[ev.Name] != nil && ev.Has(fsnotify.Remove|fsnotify.Rename) {
		return dirGone
	}
	base := filepath.Base(ev.Name)
	if !names[filepath.Dir(ev.Name)][base] {
		return ignoreEvent
	}
	if ev.Has(fsnotify.Create) && (base == k8sData || nonEmpty(ev.Name)) {
		return reloadAtOnce
	}
	return gatherEvent
}

func nonEmptyFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Size() > 0
}
