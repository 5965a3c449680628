package notify

import (
	"runtime"
	"strings"
)

// commandEnv returns the notify command's environment for ev: the
// variables of environ (the proxy's) that passed allows, then
// NOTION_PROXY_EVENT, NOTION_PROXY_PROFILE and NOTION_PROXY_TEXT.
//
// The proxy's environment holds secrets: token_env's token, every ${NAME}
// the config expands (a webhook URL, an OAuth client secret),
// shared.key_env's key, and whatever a token_command reads that the proxy
// cannot know of. So the command gets an allow-list, not the proxy's
// environment minus the secrets it knows: a command that needs more is
// given it in its argv, ["env", "NAME=${NAME}", "program", …].
func commandEnv(environ []string, ev Event) []string {
	out := make([]string, 0, 16)
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if ok && passed(name) {
			out = append(out, kv)
		}
	}
	return append(out, "NOTION_PROXY_EVENT="+ev.Event, "NOTION_PROXY_PROFILE="+ev.Profile, "NOTION_PROXY_TEXT="+ev.Text)
}

// passed reports whether the variable name reaches the notify command:
// what a program needs to find its tools, its user, its locale and the
// desktop session (notify-send, osascript). Names are case-insensitive on
// Windows only.
func passed(name string) bool {
	if runtime.GOOS == "windows" {
		name = strings.ToUpper(name)
	}
	if strings.HasPrefix(name, "LC_") {
		return true // the locale: LC_ALL, LC_CTYPE, …
	}
	switch name {
	case "PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR",
		"DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR":
		return true
	case "SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP", "USERPROFILE", "APPDATA", "LOCALAPPDATA":
		return true // what programs on Windows expect to find
	}
	return false
}
