package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestCheck runs "crier check" on a configuration with one dead and one
// live network: the radio webhook's primary endpoint is refused and its
// LTE endpoint answers; Soest's mail relay is down. The table names every
// endpoint with its state, and the exit code says that a town lacks a
// reachable endpoint for one of its channels.
func TestCheck(t *testing.T) {
	secret := webhooktest.NewSecret(t)
	live := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	dead, deadSMTP := deadAddr(t), deadAddr(t)
	config := func(smtpPort string) string {
		return writeTestConfig(t, fmt.Sprintf(`mode: actual
networks:
  lte: {source: 127.0.0.2}
channels:
  - id: radio
    type: webhook
    endpoints:
      - {name: primary, url: "http://%[1]s/hook", probe_url: "http://%[1]s/probe", secret: "${S}"}
      - {name: lte-backup, url: "%[2]s/hook", probe_url: "%[2]s/probe", secret: "${S}", network: lte}
  - id: mail-soest
    type: email
    from: "Stadt Soest <presse@soest.example>"
    endpoints: [{name: relay, host: 127.0.0.1, port: %[3]s, tls: none}]
towns:
  - {id: soest, name: Stadt Soest, channels: [radio, mail-soest]}
  - {id: werl, name: Stadt Werl, channels: [radio]}
`, dead, live.URL(), smtpPort))
	}
	env := map[string]string{"S": secret, "CRIER_LANG": "en"}
	code, out, errOut := run(t, env, "check", "--config", config(portOf(t, deadSMTP)), "--timeout", "5s")
	if code != exitFailure {
		t.Errorf("exit %d, want %d: Soest has no reachable mail relay\n%s", code, exitFailure, errOut)
	}
	golden(t, "check.golden", normalizeCheck(out))
	if len(live.Probes()) != 1 {
		t.Errorf("the live receiver was probed %d times, want 1: a channel shared by towns is probed once", len(live.Probes()))
	}
	if len(live.Requests()) != 0 {
		t.Error("check posted a webhook")
	}

	// With the relay up, every town reaches every channel: exit 0.
	relay := smtptest.NewServer(t, smtptest.Options{})
	code, out, errOut = run(t, env, "check", "--config", config(fmt.Sprint(relay.Port())), "--timeout", "5s")
	if code != exitOK {
		t.Errorf("exit %d with the relay up, want 0\n%s%s", code, out, errOut)
	}
	golden(t, "check-ok.golden", normalizeCheck(out))
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// normalizeCheck makes check output stable: ports, latencies and column
// padding vary from run to run.
func normalizeCheck(s string) string {
	s = regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(s, "127.0.0.1:PORT")
	s = regexp.MustCompile(`\d+ ms`).ReplaceAllString(s, "N ms")
	return regexp.MustCompile(`  +`).ReplaceAllString(s, "  ")
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}
