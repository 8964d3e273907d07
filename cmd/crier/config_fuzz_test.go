package main

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/crierhq/crier"
)

// secretValue is what every environment variable holds in FuzzConfig: it
// must never appear in an error.
const secretValue = "s3cret-from-the-environment"

// FuzzConfig loads configuration files as LoadConfig does, without the
// file system. A file either gives a configuration that validates (and
// validates again), or an EINVALID error whose problems each say where:
// a line for what cannot be read, a field path for what does not
// validate. Values from the environment never appear in an error.
func FuzzConfig(f *testing.F) {
	if data, err := os.ReadFile("../../config.example.yaml"); err == nil {
		f.Add(string(data))
	}
	for _, s := range []string{
		"mode: exercise\n",
		"mode: actual\npublic_url: http://krisen.example\n",
		"listen: [1, 2]\nunknown_key: 1\n",
		"towns:\n  - id: soest\n    name: Stadt Soest\n    ags: \"0597404\"\n    channels: [nirgends]\n",
		"channels:\n  - id: m\n    type: mastodon\n    endpoints: [{server: \"${SERVER}\", token: \"${TOKEN}\"}]\n",
		"channels:\n  - {id: w, type: webhook, endpoints: [{url: \"https://radio.example/${A}${B}$$\", secret: \"${SECRET}\"}]}\n",
		"channels:\n  - {id: x, type: carrier-pigeon}\n",
		"networks:\n  lte: {dns: [\"192.168.8.1:53\"], source: \"::1%eth0\"}\n  relay: {proxy: \"socks5://[::1\"}\n",
		"groups: {a: [b], b: [a]}\n",
		"a: &a [*a, *a]\nb: *a\n",
		"x: &x\n  <<: *x\n",
		"listen: 127.0.0.1:8080\n---\nlisten: 127.0.0.1:9090\n",
		"schedules:\n  - {id: s, spec: \"*/0 * * * *\", notice: n.md}\n",
		"\t- ]: !!binary ==\n",
		"",
	} {
		f.Add(s)
	}
	getenv := func(string) string { return secretValue }
	f.Fuzz(func(t *testing.T, data string) {
		c, err := parseConfig([]byte(data), getenv)
		if err != nil {
			checkConfigError(t, data, err, false)
			return
		}
		c.resolvePaths("/srv/crier")
		if err := c.Validate(); err != nil {
			checkConfigError(t, data, err, true)
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("%q validates once, then: %v", data, err)
		}
	})
}

func checkConfigError(t *testing.T, data string, err error, paths bool) {
	t.Helper()
	var e *crier.Error
	if !errors.As(err, &e) || e.Code != crier.EINVALID {
		t.Fatalf("%q: error %v is not EINVALID", data, err)
	}
	if strings.Contains(err.Error(), secretValue) {
		t.Fatalf("%q: error shows a value from the environment: %v", data, err)
	}
	for _, p := range e.Details {
		if strings.Contains(p.Message, secretValue) || strings.Contains(p.Field, secretValue) {
			t.Fatalf("%q: problem shows a value from the environment: %s: %s", data, p.Field, p.Message)
		}
		if paths && p.Field == "" {
			t.Fatalf("%q: problem %q names no field", data, p.Message)
		}
	}
}
