package proxy

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// coalesceWindow is how long the watcher gathers events after the first
// one of a burst before it reloads: an editor's save is several events. It
// is a window from the first event, not a quiet period, so a file rewritten
// without pause still reloads every coalesceWindow; an event after the
// reload has read the file opens the next window, so no write is missed.
const coalesceWindow = 50 * time.Millisecond

// Watch reloads the config whenever its file changes, until ctx ends; the
// returned channel then receives the loop's end (nil, or why it stopped)
// and is closed. The watch is in place when Watch returns. It watches the file's directory, not the file, so that in-place writes,
// save-by-rename, delete-and-recreate and Kubernetes `..data` symlink swaps
// are all seen; bursts of events are coalesced and a reload only happens
// when the file's bytes changed. poll > 0 also checks the file every poll,
// for file systems without inotify.
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
	done := make(chan error, 1)
	go func() {
		defer close(done)
		if w != nil {
			defer w.Close()
		}
		done <- s.watchLoop(ctx, w, dir, poll)
	}()
	return done, nil
}

// syncWatches adds the directories of the profiles' token files to the
// watch, so a rotated secret is seen like a config change.
func (s *Server) syncWatches(w *fsnotify.Watcher, watched map[string]bool) {
	if w == nil {
		return
	}
	for _, p := range s.profiles.all() {
		tf := p.config().TokenFile
		if tf == "" || watched[filepath.Dir(tf)] {
			continue
		}
		if err := w.Add(filepath.Dir(tf)); err != nil {
			s.log.Warn().Err(err).Str("dir", filepath.Dir(tf)).Msg("cannot watch token_file directory: use --poll")
			continue
		}
		watched[filepath.Dir(tf)] = true
	}
}

func (s *Server) watchLoop(ctx context.Context, w *fsnotify.Watcher, dir string, poll time.Duration) error {
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
	watched := map[string]bool{dir: true}
	s.syncWatches(w, watched)
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	defer settle.Stop()
	pending := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if !pending {
				pending = true
				settle.Reset(coalesceWindow)
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			s.log.Warn().Err(err).Str("dir", dir).Msg("file watch error")
		case <-settle.C:
			pending = false
			_ = s.Reload(false)
			s.syncWatches(w, watched)
		case <-tick:
			_ = s.Reload(false)
			s.syncWatches(w, watched)
		}
	}
}
