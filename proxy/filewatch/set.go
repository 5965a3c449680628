package filewatch

import (
	"errors"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"
)

// watchSet is what the watcher watches: the directory of the config and
// those of the token files, and in each the names whose events matter.
type watchSet struct {
	w       *fsnotify.Watcher
	names   map[string]map[string]bool // directory → base names that matter
	watched map[string]bool            // directories with a watch in place
	lost    map[string]bool            // directories removed, moved away or not there yet
	rewatch *time.Ticker               // runs while a directory is lost
	log     zerolog.Logger
}

// lose marks dir as not there: it is looked for every rewatchEvery.
func (ws *watchSet) lose(dir string) {
	delete(ws.watched, dir)
	ws.lost[dir] = true
	if ws.rewatch == nil {
		ws.rewatch = time.NewTicker(rewatchEvery)
	}
}

// rewatchC ticks while a directory is lost; nil otherwise.
func (ws *watchSet) rewatchC() <-chan time.Time {
	if ws.rewatch == nil {
		return nil
	}
	return ws.rewatch.C
}

// findLost watches every lost directory that is there again and returns
// them.
func (ws *watchSet) findLost() []string {
	var back []string
	for dir := range ws.lost {
		if ws.w.Add(dir) == nil {
			delete(ws.lost, dir)
			ws.watched[dir] = true
			back = append(back, dir)
		}
	}
	if len(ws.lost) == 0 {
		ws.stop()
	}
	return back
}

// stop ends the search for lost directories.
func (ws *watchSet) stop() {
	if ws.rewatch != nil {
		ws.rewatch.Stop()
		ws.rewatch = nil
	}
}

// wanted returns, for the config at path and its token files, the
// directories to watch and the names in each whose events matter: the file
// itself and `..data`, through which a Kubernetes mount swaps it.
func wanted(path string, tokenFiles []string) map[string]map[string]bool {
	names := map[string]map[string]bool{}
	for _, f := range append([]string{path}, tokenFiles...) {
		dir := filepath.Dir(f)
		if names[dir] == nil {
			names[dir] = map[string]bool{k8sData: true}
		}
		names[dir][filepath.Base(f)] = true
	}
	return names
}

// sync watches the directories the config at path and its token files
// need, looks for those not there yet, and stops watching those it no
// longer needs.
func (ws *watchSet) sync(path string, tokenFiles []string) {
	ws.names = wanted(path, tokenFiles)
	if ws.w == nil {
		return
	}
	for dir := range ws.watched {
		if ws.names[dir] == nil {
			_ = ws.w.Remove(dir)
			delete(ws.watched, dir)
		}
	}
	for dir := range ws.lost {
		if ws.names[dir] == nil {
			delete(ws.lost, dir)
		}
	}
	for dir := range ws.names {
		if ws.watched[dir] || ws.lost[dir] {
			continue
		}
		if err := ws.w.Add(dir); errors.Is(err, fs.ErrNotExist) {
			ws.lose(dir)
			ws.log.Warn().Str("dir", dir).Msg("token_file directory missing: watching for it to appear")
			continue
		} else if err != nil {
			ws.log.Warn().Err(err).Str("dir", dir).Msg("cannot watch token_file directory: use --poll")
			continue
		}
		ws.watched[dir] = true
	}
}
