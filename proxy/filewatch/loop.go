package filewatch

import (
	"context"
	"errors"
	"time"

	"github.com/fsnotify/fsnotify"
)

// loop is the watcher's goroutine: it turns events, ticks and due retries
// into calls of opts.Reload until ctx ends.
func loop(ctx context.Context, ws *watchSet, dir string, opts Options) error {
	w := ws.w
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w != nil {
		events, errs = w.Events, w.Errors
	}
	var tick <-chan time.Time
	if opts.Poll > 0 {
		t := time.NewTicker(opts.Poll)
		defer t.Stop()
		tick = t.C
	}
	var due <-chan time.Duration
	if opts.Retry != nil {
		due = opts.Retry.due
	}
	settle, retry := stoppedTimer(), stoppedTimer()
	defer settle.Stop()
	defer retry.Stop()
	defer ws.stop()
	pending := false
	var lastReload time.Time // of the watcher's own reloads
	reload := func() {
		lastReload = time.Now()
		opts.Reload()
		ws.sync(opts.Path, opts.Files())
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
					settle.Reset(opts.Window)
				}
			case reloadAtOnce:
				// At once, unless a reload ran within the window: a burst
				// of replaces costs one reload a window, like writes.
				switch wait := opts.Window - time.Since(lastReload); {
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
				opts.Logger.Warn().Str("dir", ev.Name).Msg("watched directory removed: watching for it to come back")
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			opts.Logger.Warn().Err(err).Str("dir", dir).Msg("file watch error")
			if errors.Is(err, fsnotify.ErrEventOverflow) && !pending { // events were lost: look
				pending = true
				settle.Reset(opts.Window)
			}
		case <-settle.C:
			pending = false
			reload()
		case d := <-due:
			retry.Reset(d)
		case <-retry.C:
			reload()
		case <-ws.rewatchC():
			back := ws.findLost()
			for _, d := range back {
				opts.Logger.Info().Str("dir", d).Msg("watched directory is back: watching it again")
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
