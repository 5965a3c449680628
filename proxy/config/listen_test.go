package config

import "testing"

func TestListenOfReadsOnlyListen(t *testing.T) {
	env := map[string]string{"PORT": "9999"}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct{ name, data, want string }{
		{"a valid file", "listen: 127.0.0.1:9000\ntoken: ntn_x\n", "127.0.0.1:9000"},
		{"the rest of the file broken", "listen: 127.0.0.1:9000\nlistne: x\nprofiles: 3\n", "127.0.0.1:9000"},
		{"listen after the broken key", "pause: {timeout: soon}\nlisten: \"[::1]:9001\"\n", "[::1]:9001"},
		{"expanded", "listen: 127.0.0.1:${PORT}\n", "127.0.0.1:9999"},
		{"no listen", "token: ntn_x\n", DefaultListen},
		{"empty listen", "listen:\n", DefaultListen},
		{"listen not host:port", "listen: nowhere\n", DefaultListen},
		{"listen not a value", "listen: [a, b]\n", DefaultListen},
		{"malformed ${", "listen: ${PORT\n", DefaultListen},
		{"YAML that does not parse", "listen: 127.0.0.1:9000\n  bad: [\n", DefaultListen},
		{"not a mapping", "- listen\n", DefaultListen},
		{"empty file", "", DefaultListen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ListenOf([]byte(tc.data), getenv); got != tc.want {
				t.Errorf("ListenOf(%q) = %q, want %q", tc.data, got, tc.want)
			}
		})
	}
}
