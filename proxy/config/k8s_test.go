package config

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestKubernetesExample parses every manifest under docs/k8s (the README's
// "Many replicas" example): each document is a Kubernetes object, and the
// notion-proxy config in the Secret is valid, in shared mode, with every
// variable it names set by the sidecar's environment.
func TestKubernetesExample(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "k8s", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests under docs/k8s (%v)", err)
	}
	type object struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		StringData map[string]string `yaml:"stringData"`
		Spec       struct {
			Template struct {
				Spec struct {
					InitContainers []struct {
						Name string `yaml:"name"`
						Env  []struct {
							Name string `yaml:"name"`
						} `yaml:"env"`
					} `yaml:"initContainers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	var objects []object
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o object
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
				t.Errorf("%s: a document without apiVersion, kind or metadata.name: %+v", f, o)
			}
			objects = append(objects, o)
		}
	}
	var conf string
	env := map[string]string{}
	for _, o := range objects {
		if o.Kind == "Secret" && o.StringData["notion-proxy.yaml"] != "" {
			conf = o.StringData["notion-proxy.yaml"]
		}
		for _, c := range o.Spec.Template.Spec.InitContainers {
			if c.Name == "notion-proxy" {
				for _, e := range c.Env {
					// Secrets as the README's recipe makes them:
					// base64 of random bytes, with / + and =.
					env[e.Name] = "value/of+" + e.Name + "=="
				}
			}
		}
	}
	if conf == "" || len(env) == 0 {
		t.Fatalf("no Secret with notion-proxy.yaml, or no notion-proxy sidecar with an environment")
	}
	cfg, err := Parse([]byte(conf), "/etc/notion-proxy/notion-proxy.yaml", func(name string) string {
		if v, ok := env[name]; ok {
			return v
		}
		t.Errorf("the config uses ${%s}, which the sidecar does not set", name)
		return ""
	})
	if err != nil {
		t.Fatalf("the Secret's notion-proxy.yaml: %v", err)
	}
	if !cfg.Shared.Enabled() || cfg.Shared.PasswordEnv == "" || strings.Contains(cfg.Shared.Redis, "value/of") {
		t.Errorf("shared = %+v, want Redis with the password from the environment by password_env, not in the URL", cfg.Shared)
	}
	if _, ok := env[cfg.Shared.PasswordEnv]; !ok {
		t.Errorf("the sidecar does not set the Redis password %s", cfg.Shared.PasswordEnv)
	}
	if _, ok := env[cfg.Shared.KeyEnv]; !ok {
		t.Errorf("the sidecar does not set the sealing key %s", cfg.Shared.KeyEnv)
	}
}
