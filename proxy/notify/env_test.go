package notify

import (
	"slices"
	"testing"
)

func TestCommandEnvPassesOnlyTheAllowList(t *testing.T) {
	environ := []string{
		"PATH=/usr/bin", "HOME=/home/u", "LANG=C.UTF-8", "LC_ALL=C", "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/bus",
		"MY_NOTION_TOKEN=ntn_secret", "SLACK_WEBHOOK=https://hooks.slack.com/x", "NOTION_PROXY_SHARED_KEY=a2V5",
		"AWS_SECRET_ACCESS_KEY=x", "NOTION_PROXY_EVENT=stale", "PATHOLOGICAL=1", "noequals",
	}
	got := commandEnv(environ, Event{Event: Paused, Profile: "default", Text: "paused"})
	want := []string{
		"PATH=/usr/bin", "HOME=/home/u", "LANG=C.UTF-8", "LC_ALL=C", "DBUS_SESSION_BUS_ADDRESS=unix:path=/run/bus",
		"NOTION_PROXY_EVENT=paused", "NOTION_PROXY_PROFILE=default", "NOTION_PROXY_TEXT=paused",
	}
	if !slices.Equal(got, want) {
		t.Errorf("commandEnv =\n%q\nwant\n%q", got, want)
	}
}
