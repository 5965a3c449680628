package proxy

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/notion-proxy/notion-proxy/proxy/config"
)

// NewLogger returns the logger for cfg writing to w: console format when
// format is "console", or "auto" and w is a terminal; JSON otherwise.
func NewLogger(w io.Writer, cfg config.Log) (zerolog.Logger, error) {
	level := zerolog.InfoLevel
	if cfg.Level != "" {
		l, err := zerolog.ParseLevel(cfg.Level)
		if err != nil {
			return zerolog.Nop(), fmt.Errorf("log level %q: %w", cfg.Level, err)
		}
		level = l
	}
	console := cfg.Format == "console" || (cfg.Format == "auto" || cfg.Format == "") && isTerminal(w)
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
}

func isTerminal(w io.Writer) bool {
	if u, ok := w.(interface{ Unwrap() io.Writer }); ok {
		w = u.Unwrap()
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// millis is d in milliseconds, for log fields named …_ms: the unit is in
// the field's name and does not depend on zerolog's global duration
// settings.
func millis(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}
