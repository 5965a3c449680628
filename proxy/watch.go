package proxy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// coalesceWindow is how long the watcher gathers in-place writes after the
// first one of a burst before it reloads: an editor's save is several
// events, and a file written in place may be read half-written. It is a
// window from the first event, not a quiet period, so a file rewritten
// without pause still reloads every coalesceWindow; an event after the
// reload has read the file opens the next window, so no write is missed.
// A file renamed into place (an atomic replace, a Kubernetes `..data`
// swap) is whole at once: it is read without waiting, unless the watcher
// reloaded less than a window ago (a burst of replaces then costs one
// reload a window, the last one read at the window's end).
const coalesceWindow = 50 * time.Millisecond

// rewatchEvery is how often the watcher looks for a watched directory that
// was removed or moved away to come back.
const rewatchEvery = 100 * time.Millisecond

// k8sData is the name a Kubernetes volume mount swaps by rename to publish
// a new version of every file in it at once.
const k8sData = "..data"

// Watch reloads the config whenever its file changes, until ctx ends; the
// returned channel then receives the loop's end (nil, or why it stopped)
// and is closed. The watch is in place when Watch returns. It watches the
// file's directory, not the file, so that in-place writes, save-by-rename,
// delete-and-recreate and Kubernetes `..data` symlink swaps are all seen;
// events for other files in the directory (a log file, an editor's swap
// file) are ignored. In-place writes are coalesced (coalesceWindow), a file
// renamed into place is read at once, and a reload only happens when the
// file's bytes changed. A watched directory that is removed is watched
// again when it comes back. poll > 0 also checks the file every poll, for
// file systems without inotify.
func (s *Server) Watch(ctx context.Context, poll time.Duration) (<-chan error, error) {
	dir := filepath.Dir(s.runtime().cfg.Path)
	w, err := fsnotify.NewWatcher()
	if err == nil {
		if err = w.Add(dir); err != nil {
			w.Close()
		}
	}
	if err != nil {
		if poll <= 0 {
			return nil, fmt.Errorf("watch %s: %w (use --poll)", dir, err)
		}
		s.log.Warn().Err(err).Msg("no file system notifications: polling only")
		w = nil
	}
	ws := &watchSet{w: w, watched: map[string]bool{dir: w != nil}, lost: map[string]bool{}}
	s.syncWatches(ws) // the token files' directories too, before Watch returns
	done := make(chan error, 1)
	go func() {
		defer close(done)
		if w != nil {
			defer w.Close()
		}
		done <- s.watchLoop(ctx, ws, dir, poll)
	}()
	return done, nil
}

// watchSet is what the watcher watches: the directory of the config and
// those of the token files, and in each the names whose events matter.
type watchSet struct {
	w       *fsnotify.Watcher
	names   map[string]map[string]bool // directory → base names that matter
	watched map[string]bool            // directories with a watch in place
	lost    map[string]bool            // directories removed, moved away or not there yet
	rewatch *time.Ticker               // runs while a directory is lost
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

// syncWatches watches the directories the current config needs (the
// config's and its token files'), looks for those not there yet, and stops
// watching those it no longer needs.
func (s *Server) syncWatches(ws *watchSet) {
	var tokenFiles []string
	for _, p := range s.profiles.all() {
		if tf := p.config().TokenFile; tf != "" {
			tokenFiles = append(tokenFiles, tf)
		}
	}
	ws.names = wanted(s.runtime().cfg.Path, tokenFiles)
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
			s.log.Warn().Str("dir", dir).Msg("token_file directory missing: watching for it to appear")
			continue
		} else if err != nil {
			s.log.Warn().Err(err).Str("dir", dir).Msg("cannot watch token_file directory: use --poll")
			continue
		}
		ws.watched[dir] = true
	}
}

// watchAction is what the watcher does with one file system event.
type watchAction int

const (
	ignoreEvent  watchAction = iota // another file: not ours
	gatherEvent                     // an in-place change: reload after the window
	reloadAtOnce                    // a file renamed into place: it is whole now
	dirGone                         // a watched directory was removed or moved away
)

// classify says what ev means for a watcher interested in names (as
// returned by wanted). nonEmpty reports whether a file holds any byte: a
// file created empty is being written in place, one that appears with
// content was renamed into place (or written in one go) and is read at
// once.
func classify(ev fsnotify.Event, names map[string]map[string]bool, nonEmpty func(string) bool) watchAction {
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

func (s *Server) watchLoop(ctx context.Context, ws *watchSet, dir string, poll time.Duration) error {
	w := ws.w
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w != nil {
		events, errs = w.Events, w.Errors
	}
	var tick <-chan time.Time
	if poll > 0 {
		t := time.NewTicker(poll)
		defer t.Stop()
		tick = t.C
	}
	settle, retry := stoppedTimer(), stoppedTimer()
	defer settle.Stop()
	defer retry.Stop()
	defer ws.stop()
	pending := false
	var lastReload time.Time // of the watcher's own reloads
	reload := func() {
		lastReload = time.Now()
		_ = s.Reload(false)
		s.syncWatches(ws)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			switch classify(ev, ws.names, nonEmptyFile) {
			case gatherEvent:
				if !pending {
					pending = true
					settle.Reset(s.reloads.watchWindow)
				}
			case reloadAtOnce:
				// At once, unless a reload ran within the window: a burst
				// of replaces costs one reload a window, like writes.
				switch wait := s.reloads.watchWindow - time.Since(lastReload); {
				case pending:
				case wait <= 0:
					reload()
				default:
					pending = true
					settle.Reset(wait)
				}
			case dirGone:
				_ = w.Remove(ev.Name) // gone already, as a rule
				ws.lose(ev.Name)
				s.log.Warn().Str("dir", ev.Name).Msg("watched directory removed: watching for it to come back")
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			s.log.Warn().Err(err).Str("dir", dir).Msg("file watch error")
			if errors.Is(err, fsnotify.ErrEventOverflow) && !pending { // events were lost: look
				pending = true
				settle.Reset(s.reloads.watchWindow)
			}
		case <-settle.C:
			pending = false
			reload()
		case d := <-s.reloads.readRetry.due:
			retry.Reset(d)
		case <-retry.C:
			reload()
		case <-ws.rewatchC():
			back := ws.findLost()
			for _, d := range back {
				s.log.Info().Str("dir", d).Msg("watched directory is back: watching it again")
			}
			if len(back) > 0 {
				reload() // what was written before the watch was back
			}
		case <-tick:
			reload()
		}
	}
}

// stoppedTimer returns a timer that has not started.
func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}
