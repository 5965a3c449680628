// Package filewatch watches the config file and the files it names (the
// token files) and says when to read them again: it owns fsnotify, the set
// of watched directories and the names that matter in each, the coalescing
// of in-place writes, the at-once read of a file renamed into place, the
// re-watching of a directory removed and recreated, polling, and the
// back-off of reads that failed (docs/design.md#config-and-reloads). It
// does not read the files: its owner's Reload does.
package filewatch

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"
)

// Window is how long the watcher gathers in-place writes after the first
// one of a burst before it reloads: an editor's save is several events,
// and a file written in place may be read half-written. It is a window
// from the first event, not a quiet period, so a file rewritten without
// pause still reloads every Window; an event after the reload has read the
// file opens the next window, so no write is missed. A file renamed into
// place (an atomic replace, a Kubernetes `..data` swap) is whole at once:
// it is read without waiting, unless the watcher reloaded less than a
// window ago (a burst of replaces then costs one reload a window, the last
// one read at the window's end).
const Window = 50 * time.Millisecond

// rewatchEvery is how often the watcher looks for a watched directory that
// was removed or moved away to come back.
const rewatchEvery = 100 * time.Millisecond

// k8sData is the name a Kubernetes volume mount swaps by rename to publish
// a new version of every file in it at once.
const k8sData = "..data"

// Options is what Watch needs from its owner.
type Options struct {
	// Path is the config file. Its directory must be watchable, unless
	// Poll is set.
	Path string
	// Files returns the other files to watch (the token files); it is
	// called before Watch returns and after every reload, from the
	// watcher's goroutine. Nil: none.
	Files func() []string
	// Reload reads the files again; it is called from the watcher's
	// goroutine.
	Reload func()
	// Retry is the back-off of failed reads: the watcher reloads when it
	// says a retry is due. Nil: no retries.
	Retry *Retry
	// Poll > 0 also reloads every Poll, for file systems without inotify.
	Poll time.Duration
	// Window is how long in-place writes are gathered; 0: Window.
	Window time.Duration
	// Logger receives the watcher's warnings.
	Logger zerolog.Logger
}

// Watch calls opts.Reload whenever the config file or one of opts.Files
// changes, until ctx ends; the returned channel then receives the loop's
// end (nil, or why it stopped) and is closed. The watch is in place when
// Watch returns. It watches each file's directory, not the file, so that
// in-place writes, save-by-rename, delete-and-recreate and Kubernetes
// `..data` symlink swaps are all seen; events for other files in the
// directory (a log file, an editor's swap file) are ignored. In-place
// writes are coalesced (Window), a file renamed into place is read at
// once. A watched directory that is removed is watched again when it comes
// back. Watch fails when the config's directory cannot be watched and
// opts.Poll is not set.
func Watch(ctx context.Context, opts Options) (<-chan error, error) {
	if opts.Window <= 0 {
		opts.Window = Window
	}
	if opts.Files == nil {
		opts.Files = func() []string { return nil }
	}
	dir := filepath.Dir(opts.Path)
	w, err := fsnotify.NewWatcher()
	if err == nil {
		if err = w.Add(dir); err != nil {
			w.Close()
		}
	}
	if err != nil {
		if opts.Poll <= 0 {
			return nil, fmt.Errorf("watch %s: %w (use --poll)", dir, err)
		}
		opts.Logger.Warn().Err(err).Msg("no file system notifications: polling only")
		w = nil
	}
	ws := &watchSet{w: w, watched: map[string]bool{dir: w != nil}, lost: map[string]bool{}, log: opts.Logger}
	ws.sync(opts.Path, opts.Files()) // the token files' directories too, before Watch returns
	done := make(chan error, 1)
	go func() {
		defer close(done)
		if w != nil {
			defer w.Close()
		}
		done <- loop(ctx, ws, dir, opts)
	}()
	return done, nil
}
