package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseNotify(t *testing.T) {
	tests := []struct {
		desc string
		src  string
		want Notify
	}{
		{"no notify section sends nowhere", "token: x\n", Notify{}},
		{"an empty notify section sends nowhere", "notify:\ntoken: x\n", Notify{}},
		{"a command and a webhook are read", lines("notify:", `  command: ["notify-send", "notion-proxy"]`, "  webhook: https://hooks.slack.com/services/T/B/X", "token: x"),
			Notify{Command: []string{"notify-send", "notion-proxy"}, Webhook: "https://hooks.slack.com/services/T/B/X"}},
		{"the webhook may come from the environment", lines("notify:", "  webhook: ${HOOK}", "token: x"), Notify{Webhook: "http://127.0.0.1:9/h"}},
		{"an empty webhook means none", lines("notify:", "  webhook: ${UNSET}", "  command: []", "token: x"), Notify{}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := mustParse(t, tt.src, map[string]string{"HOOK": "http://127.0.0.1:9/h"}).Notify
			if !slices.Equal(got.Command, tt.want.Command) || got.Webhook != tt.want.Webhook {
				t.Errorf("Notify = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestParseNotifyErrors checks the errors of the notify section: their
// line, and that the webhook, a secret, is never shown.
func TestParseNotifyErrors(t *testing.T) {
	tests := []struct {
		desc string
		src  string
		line int
		msg  string
	}{
		{"an unknown key in notify is an error", lines("token: x", "notify:", "  email: me@example.com"), 3, `unknown key "email" in notify`},
		{"notify as a single value is an error", "notify: notify-send\n", 1, "notify must be a mapping"},
		{"a command as a string is an error", lines("notify:", "  command: notify-send hi"), 2, "notify.command must be a list of strings"},
		{"a command with an empty program is an error", lines("notify:", "  command:", "    - ''"), 3, "notify.command[0], the program to run, is empty"},
		{"a command with a nested list is an error", lines("notify:", "  command: [a, [b]]"), 2, "notify.command[1] must be a single value"},
		{"a webhook that is not http is an error", lines("notify:", "  webhook: ftp://hooks.example.com/SECRET"), 2, "notify.webhook must be an http:// or https:// URL"},
		{"a relative webhook is an error", lines("notify:", "  webhook: hooks/SECRET"), 2, "notify.webhook must be an http:// or https:// URL"},
		{"a webhook without a host is an error", lines("notify:", "  webhook: 'https:///SECRET'"), 2, "notify.webhook must name a host"},
		{"a webhook that does not parse is an error", lines("notify:", "  webhook: 'http://SECRET%zz'"), 2, "notify.webhook is not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			wantParseError(t, tt.src, nil, tt.line, tt.msg)
		})
	}
}

// TestExampleNotifyCommandsParse uncomments the desktop-notification
// commands shown in config.example.yaml and parses them.
func TestExampleNotifyCommandsParse(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Linux:": "sh", "macOS:": "osascript"}
	for _, line := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "#")
		if !ok {
			continue
		}
		system, cmd, ok := strings.Cut(strings.TrimSpace(rest), " command: ")
		system = strings.TrimSpace(system)
		if !ok || want[system] == "" {
			continue
		}
		t.Run("the "+system+" example parses", func(t *testing.T) {
			got := mustParse(t, "token: x\nnotify:\n  command: "+cmd+"\n", nil).Notify.Command
			if len(got) != 3 || got[0] != want[system] || !strings.Contains(got[2], "NOTION_PROXY_TEXT") {
				t.Errorf("command %q", got)
			}
		})
		delete(want, system)
	}
	if len(want) > 0 {
		t.Errorf("config.example.yaml shows no notify command for %v", want)
	}
}
