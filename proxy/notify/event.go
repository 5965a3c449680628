// Package notify tells the person who fixes the token what happened
// (docs/design.md#the-person-who-fixes-the-token): events such as "paused" or "config_error", each one JSON object
// with a human line in Text, handed to a command (run without a shell, the
// event on stdin) and to a webhook (a POST whose "text" field Slack-,
// Mattermost- and Teams-style incoming webhooks display).
//
// Sending never blocks the caller: events wait in bounded queues, the
// oldest dropped (and counted) when one is full. An event never holds a
// token, only its fingerprint.
package notify

import (
	"fmt"
	"strings"
	"time"
)

// The kinds of events, the value of Event.Event.
const (
	// Paused: a profile's token was rejected; its calls wait for a new one.
	Paused = "paused"
	// Resumed: a new token was accepted; the waiting calls were replayed.
	Resumed = "resumed"
	// RefreshFailed: the proxy could not get a new token by itself (a
	// failing token_command, an OAuth invalid_grant).
	RefreshFailed = "refresh_failed"
	// ConfigError: a reload failed; the last good config keeps serving.
	ConfigError = "config_error"
	// GaveUp: calls got their 401 after waiting (pause.timeout,
	// pause.max_queued, or their profile removed).
	GaveUp = "gave_up"
)

// Event is one notification. Event, Profile, Time and Text are always set
// (Profile is "" for an event about the whole config); the other fields are
// the facts of its kind. Text is filled from the facts by Describe when the
// sender leaves it empty. No field ever holds a token: Token is a
// fingerprint.
type Event struct {
	Event   string    `json:"event"`
	Profile string    `json:"profile"`
	Time    time.Time `json:"time"`
	Text    string    `json:"text"`

	// Paused.
	Token   string     `json:"token,omitempty"` // fingerprint of the rejected token; "" = no token yet
	Since   *time.Time `json:"since,omitempty"`
	Waiting *int       `json:"waiting,omitempty"`
	Config  string     `json:"config,omitempty"` // the config file's absolute path
	Page    string     `json:"page,omitempty"`   // the status page's URL, where a token can be pasted
	Do      string     `json:"do,omitempty"`     // what the person should do

	// Resumed.
	PausedFor        string   `json:"paused_for,omitempty"` // e.g. "2m3s"
	PausedForSeconds *float64 `json:"paused_for_seconds,omitempty"`
	Replayed         *int     `json:"replayed,omitempty"`

	// RefreshFailed and ConfigError.
	Source string `json:"source,omitempty"` // token_command or oauth
	Error  string `json:"error,omitempty"`

	// GaveUp.
	Calls  int    `json:"calls,omitempty"`
	Reason string `json:"reason,omitempty"` // pause.timeout, pause.max_queued or profile_removed
}

// Reasons of a GaveUp event.
const (
	ReasonTimeout        = "pause.timeout"
	ReasonMaxQueued      = "pause.max_queued"
	ReasonProfileRemoved = "profile_removed"
)

// Describe returns the event's human line: what happened and what to do,
// built from its facts. It never holds more than the facts do (no token).
func Describe(ev Event) string {
	who := fmt.Sprintf("profile %q", ev.Profile)
	switch ev.Event {
	case Paused:
		what := "Notion rejected the token " + ev.Token + " of " + who
		if ev.Token == "" {
			what = who + " has no token yet"
		}
		if ev.Waiting != nil && *ev.Waiting > 0 {
			what += fmt.Sprintf("; %d %s waiting", *ev.Waiting, plural(*ev.Waiting, "call is", "calls are"))
		} else {
			what += "; its calls wait"
		}
		return "notion-proxy: " + what + ". " + ev.Do
	case Resumed:
		n := 0
		if ev.Replayed != nil {
			n = *ev.Replayed
		}
		return fmt.Sprintf("notion-proxy: %s works again with a new token after %s paused; %d waiting %s replayed.",
			who, ev.PausedFor, n, plural(n, "call", "calls"))
	case RefreshFailed:
		return "notion-proxy: " + who + " could not get a new token from its " + ev.Source + ": " +
			ev.Error + ". " + ev.Do
	case ConfigError:
		return "notion-proxy: the config was not reloaded: " + ev.Error + ". The last good config keeps serving; fix the file."
	case GaveUp:
		why := "waited " + ev.Reason + " for a new token"
		switch ev.Reason {
		case ReasonMaxQueued:
			why = "found pause.max_queued calls already waiting"
		case ReasonProfileRemoved:
			why = "lost their profile in a reload"
		}
		return fmt.Sprintf("notion-proxy: %d %s of %s got their 401: they %s.", ev.Calls, plural(ev.Calls, "call", "calls"), who, why)
	}
	return "notion-proxy: " + strings.ReplaceAll(ev.Event, "_", " ") + " (" + who + ")"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
