package proxy

import (
	"context"
	"time"

	"github.com/notion-proxy/notion-proxy/proxy/filewatch"
)

// Watch reloads the config whenever its file or a profile's token_file
// changes, until ctx ends; the returned channel then receives the loop's
// end (nil, or why it stopped) and is closed. The watch is in place when
// Watch returns. The watching is proxy/filewatch's: directories rather
// than files (in-place writes, save-by-rename, delete-and-recreate and
// Kubernetes `..data` swaps are all seen), in-place writes coalesced, a
// file renamed into place read at once, a removed directory watched again
// when it comes back, failed reads retried with back-off. A reload only
// happens when the file's bytes changed. poll > 0 also checks the file
// every poll, for file systems without inotify.
func (s *Server) Watch(ctx context.Context, poll time.Duration) (<-chan error, error) {
	return filewatch.Watch(ctx, filewatch.Options{
		Path:   s.runtime().cfg.Path,
		Files:  s.tokenFiles,
		Reload: func() { _ = s.Reload(false) },
		Retry:  s.reloads.readRetry,
		Poll:   poll,
		Window: s.reloads.watchWindow,
		Logger: s.log,
	})
}

// tokenFiles returns the token_file paths of the current profiles.
func (s *Server) tokenFiles() []string {
	var files []string
	for _, p := range s.profiles.all() {
		if tf := p.config().TokenFile; tf != "" {
			files = append(files, tf)
		}
	}
	return files
}
