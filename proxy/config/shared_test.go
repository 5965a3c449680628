package config

import (
	"path/filepath"
	"testing"
	"time"
)

func TestParseShared(t *testing.T) {
	dir := filepath.Dir(testPath(t))
	tests := []struct {
		desc string
		src  string
		want Shared
	}{
		{"no shared section is off with the defaults", "token: x\n",
			Shared{KeyEnv: DefaultSharedKeyEnv, Prefix: DefaultSharedPrefix, Timeout: DefaultSharedTimeout}},
		{"an empty shared section is off", "shared:\ntoken: x\n",
			Shared{KeyEnv: DefaultSharedKeyEnv, Prefix: DefaultSharedPrefix, Timeout: DefaultSharedTimeout}},
		{"a redis URL turns it on with the defaults", lines("shared:", "  redis: redis://127.0.0.1:6379/0", "token: x"),
			Shared{Redis: "redis://127.0.0.1:6379/0", KeyEnv: DefaultSharedKeyEnv, Prefix: DefaultSharedPrefix, Timeout: DefaultSharedTimeout}},
		{"every key is read, the ca relative to the file", lines("shared:", "  redis: rediss://redis.internal:6380/2", "  key_env: TEAM_KEY", "  prefix: 'team-a:'", "  ca: certs/redis.pem", "  timeout: 500ms", "token: x"),
			Shared{Redis: "rediss://redis.internal:6380/2", KeyEnv: "TEAM_KEY", Prefix: "team-a:", CA: filepath.Join(dir, "certs", "redis.pem"), Timeout: 500 * time.Millisecond}},
		{"the password may come from the environment", lines("shared:", "  redis: redis://:${REDIS_PASSWORD}@redis:6379", "token: x"),
			Shared{Redis: "redis://:pw@redis:6379", KeyEnv: DefaultSharedKeyEnv, Prefix: DefaultSharedPrefix, Timeout: DefaultSharedTimeout}},
		{"a URL from an unset variable means off", lines("shared:", "  redis: ${UNSET}", "token: x"),
			Shared{KeyEnv: DefaultSharedKeyEnv, Prefix: DefaultSharedPrefix, Timeout: DefaultSharedTimeout}},
		{"the password may come from password_env, the URL without one", lines("shared:", "  redis: redis://redis:6379/0", "  password_env: REDIS_PASSWORD", "token: x"),
			Shared{Redis: "redis://redis:6379/0", PasswordEnv: "REDIS_PASSWORD", KeyEnv: DefaultSharedKeyEnv, Prefix: DefaultSharedPrefix, Timeout: DefaultSharedTimeout}},
		{"password_env with a user in the URL is accepted", lines("shared:", "  redis: redis://proxy@redis:6379/0", "  password_env: REDIS_PASSWORD", "token: x"),
			Shared{Redis: "redis://proxy@redis:6379/0", PasswordEnv: "REDIS_PASSWORD", KeyEnv: DefaultSharedKeyEnv, Prefix: DefaultSharedPrefix, Timeout: DefaultSharedTimeout}},
		{"a host without a port or database is accepted", lines("shared:", "  redis: redis://redis", "token: x"),
			Shared{Redis: "redis://redis", KeyEnv: DefaultSharedKeyEnv, Prefix: DefaultSharedPrefix, Timeout: DefaultSharedTimeout}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := mustParse(t, tt.src, map[string]string{"REDIS_PASSWORD": "pw"}).Shared
			if got != tt.want {
				t.Errorf("Shared = %+v, want %+v", got, tt.want)
			}
			if got.Enabled() != (tt.want.Redis != "") {
				t.Errorf("Enabled() = %v", got.Enabled())
			}
		})
	}
}

// TestParseSharedErrors checks the errors of the shared section: their
// line, and that the Redis URL, which may hold a password, is never shown.
func TestParseSharedErrors(t *testing.T) {
	tests := []struct {
		desc string
		src  string
		line int
		msg  string
	}{
		{"an unknown key in shared is an error", lines("token: x", "shared:", "  host: redis"), 3, `unknown key "host" in shared`},
		{"shared as a single value is an error", "shared: redis://redis\n", 1, "shared must be a mapping"},
		{"an http URL is an error", lines("shared:", "  redis: http://:SECRET@redis:6379"), 2, "shared.redis must be a redis:// or rediss:// URL"},
		{"a bare host is an error", lines("shared:", "  redis: SECRET-redis:6379"), 2, "shared.redis must be a redis:// or rediss:// URL"},
		{"a URL without a host is an error", lines("shared:", "  redis: 'redis://:SECRET@:6379'"), 2, "shared.redis must name a host"},
		{"a URL that does not parse is an error", lines("shared:", "  redis: 'redis://SECRET%zz'"), 2, "shared.redis is not a URL"},
		{"a query is an error", lines("shared:", "  redis: redis://:SECRET@redis:6379/0?dial_timeout=1s"), 2, "must not have a query"},
		{"a port that is not a number is an error", lines("shared:", "  redis: redis://:SECRET@redis:abc/0"), 2, "shared.redis is not a URL"},
		{"a port out of range is an error", lines("shared:", "  redis: redis://:SECRET@redis:70000/0"), 2, "the port must be a number from 1 to 65535"},
		{"a path that is not a database number is an error", lines("shared:", "  redis: redis://:SECRET@redis:6379/cache"), 2, "the path must be a database number"},
		{"a key_env holding a key is an error", lines("shared:", "  redis: redis://redis", "  key_env: c2VjcmV0IGtleQ=="), 3, "shared.key_env must be the name of an environment variable"},
		{"a prefix with a space is an error", lines("shared:", "  prefix: 'a b'"), 2, "shared.prefix contains whitespace"},
		{"a timeout without a unit is an error", lines("shared:", "  timeout: 200"), 2, "shared.timeout: \"200\" is not a duration"},
		{"a zero timeout is an error", lines("shared:", "  timeout: 0s"), 2, "shared.timeout must be positive"},
		{"a password with a / in the URL names the fix", lines("shared:", "  redis: 'redis://:SECRET/k+q=@redis:6379/0'"), 2, "percent-escaped, or give it by shared.password_env"},
		{"a password from the environment with a / names the fix", lines("shared:", "  redis: 'redis://:${REDIS_PASSWORD}@redis:6379/0'"), 2, "percent-escaped, or give it by shared.password_env"},
		{"a password with a / and a numeric start names the fix", lines("shared:", "  redis: 'redis://:123/SECRET@redis:6379/0'"), 2, "or give it by shared.password_env"},
		{"a password_env holding a password is an error", lines("shared:", "  redis: redis://redis", "  password_env: SECRET/k+q="), 3, "shared.password_env must be the name of an environment variable"},
		{"a password both in the URL and by password_env is an error", lines("shared:", "  password_env: REDIS_PASSWORD", "  redis: redis://:SECRET@redis:6379/0"), 2, "give the password one way"},
		{"a ca with a plain redis URL is an error", lines("shared:", "  redis: redis://redis:6379", "  ca: redis.pem"), 3, "shared.ca is set but shared.redis is not a rediss:// URL"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			// Base64 of random bytes, as a recipe makes it: / + and =.
			wantParseError(t, tt.src, map[string]string{"REDIS_PASSWORD": "SECRET/k+q="}, tt.line, tt.msg)
		})
	}
}
