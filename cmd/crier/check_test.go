package main

import (
	"encoding/pem"
	"flag"
	"fmt"
	"github.com/crierhq/crier/channels/email"
	"github.com/crierhq/crier/internal/loopbackcert"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
	"github.com/crierhq/crier/netpath/dnstest"
	"github.com/crierhq/crier/netpath/proxytest"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// checkConfig writes a configuration with two channels, each with a
// primary endpoint over the default route and a secondary over the
// network "lte" (bound to 127.0.0.2): the radio webhook, shared by Soest
// and Werl, at the receivers radio and radioLTE (base URLs), and Soest's
// mail relays at the ports mail and mailLTE on 127.0.0.1.
func checkConfig(t *testing.T, radio, radioLTE, mail, mailLTE string) string {
	t.Helper()
	return writeTestConfig(t, fmt.Sprintf(`mode: actual
public_url: https://krisen.kreis-soest.example
networks:
  lte: {source: 127.0.0.2}
channels:
  - id: radio
    type: webhook
    endpoints:
      - {name: primary, url: "%[1]s/hook", probe_url: "%[1]s/probe", secret: "${S}"}
      - {name: lte-backup, url: "%[2]s/hook", probe_url: "%[2]s/probe", secret: "${S}", network: lte}
  - id: mail-soest
    type: email
    from: "Stadt Soest <presse@soest.example>"
    endpoints:
      - {name: relay, host: 127.0.0.1, port: %[3]s, tls: none}
      - {name: lte-relay, host: 127.0.0.1, port: %[4]s, tls: none, network: lte}
towns:
  - {id: soest, name: Stadt Soest, channels: [radio, mail-soest]}
  - {id: werl, name: Stadt Werl, channels: [radio]}
`, radio, radioLTE, mail, mailLTE))
}

// TestCheckSecondary: every primary endpoint is down and every channel
// answers on its secondary network. crier check says so per channel
// ("läuft über Ersatznetz lte") and exits 3, not 0: the county runs on its
// LTE link. The radio channel, which both towns use, is listed and probed
// once, with both towns; nothing is posted.
func TestCheckSecondary(t *testing.T) {
	secret := webhooktest.NewSecret(t)
	live := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	relay := smtptest.NewServer(t, smtptest.Options{})
	dead, deadSMTP := deadAddr(t), deadAddr(t)
	config := checkConfig(t, "http://"+dead, live.URL(), portOf(t, deadSMTP), fmt.Sprint(relay.Port()))

	code, out, errOut := run(t, map[string]string{"S": secret}, "check", "--config", config)
	if code != exitSecondary {
		t.Errorf("exit %d, want %d: every channel runs only on its secondary\n%s%s", code, exitSecondary, out, errOut)
	}
	golden(t, "check-secondary.golden", normalizeCheck(out))
	for _, want := range []string{
		`\nradio +läuft über Ersatznetz lte \(lte-backup\), Hauptweg gestört +soest, werl\n`,
		`\nmail-soest +läuft über Ersatznetz lte \(lte-relay\), Hauptweg gestört +soest\n`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output lacks a line matching %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\nradio "); n != 3 {
		t.Errorf("radio has %d rows, want 3 (two endpoints, one summary): a shared channel is listed once\n%s", n, out)
	}
	if len(live.Probes()) != 1 {
		t.Errorf("the live receiver was probed %d times, want 1: a channel shared by towns is probed once", len(live.Probes()))
	}
	if len(live.Requests()) != 0 {
		t.Error("check posted a webhook")
	}
}

// TestCheckDown: nothing answers: every channel is reported unreachable,
// with the refused address as the cause, and the exit code is 1.
func TestCheckDown(t *testing.T) {
	dead, deadLTE, deadSMTP, deadSMTPLTE := deadAddr(t), deadAddr(t), deadAddr(t), deadAddr(t)
	config := checkConfig(t, "http://"+dead, "http://"+deadLTE, portOf(t, deadSMTP), portOf(t, deadSMTPLTE))
	code, out, errOut := run(t, map[string]string{"S": webhooktest.NewSecret(t), "CRIER_LANG": "en"}, "check", "--config", config)
	if code != exitFailure {
		t.Errorf("exit %d, want %d: no channel can be reached\n%s%s", code, exitFailure, out, errOut)
	}
	golden(t, "check-down.golden", normalizeCheck(out))
}

// TestCheckPrimary: with every primary up the check exits 0, and says
// that every channel runs on its primary.
func TestCheckPrimary(t *testing.T) {
	secret := webhooktest.NewSecret(t)
	live := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	relay := smtptest.NewServer(t, smtptest.Options{})
	deadSMTP := deadAddr(t)
	config := checkConfig(t, live.URL(), live.URL(), fmt.Sprint(relay.Port()), portOf(t, deadSMTP))
	code, out, errOut := run(t, map[string]string{"S": secret}, "check", "--config", config)
	if code != exitOK {
		t.Errorf("exit %d, want 0\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"mail-soest  läuft über den Hauptweg (relay, Netz default)",
		"Alle 2 Kanäle laufen über ihren Hauptweg.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestCheckHang: an endpoint that accepts the connection and never
// answers is reported as not answering within the per-endpoint timeout,
// which ends its probe; the whole check's timeout does not come into
// play.
func TestCheckHang(t *testing.T) {
	secret := webhooktest.NewSecret(t)
	live := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	relay := smtptest.NewServer(t, smtptest.Options{})
	hole := channeltest.Blackhole(t)
	config := checkConfig(t, "http://"+hole, live.URL(), fmt.Sprint(relay.Port()), fmt.Sprint(relay.Port()))

	start := time.Now()
	code, out, errOut := run(t, map[string]string{"S": secret}, "check", "--config", config,
		"--endpoint-timeout", "1s", "--timeout", "2m")
	took := time.Since(start)
	if code != exitSecondary {
		t.Errorf("exit %d, want %d: radio runs on its secondary\n%s%s", code, exitSecondary, out, errOut)
	}
	if !regexp.MustCompile(`radio +primary +default +nicht erreichbar +\d+ ms +keine Antwort innerhalb 1 s\n`).MatchString(out) {
		t.Errorf("the blackholed endpoint is not reported as not answering within 1 s:\n%s", out)
	}
	if took > time.Minute {
		t.Errorf("check took %v: the hanging endpoint held it up to the outer timeout", took)
	}

	// The whole check's --timeout still bounds everything, and says so.
	code, out, errOut = run(t, map[string]string{"S": secret, "CRIER_LANG": "en"}, "check", "--config", config,
		"--endpoint-timeout", "1m", "--timeout", "300ms")
	if code != exitSecondary {
		t.Errorf("outer timeout: exit %d, want %d\n%s%s", code, exitSecondary, out, errOut)
	}
	if !strings.Contains(out, "no answer before the whole check ended after 300 ms (--timeout)") {
		t.Errorf("outer timeout: the blackholed endpoint is not reported so:\n%s", out)
	}
}

// TestCheckHelp: "crier check -h" gives the per-endpoint timeout's
// default and the exit codes.
func TestCheckHelp(t *testing.T) {
	code, _, errOut := run(t, nil, "check", "-h")
	if code != exitOK {
		t.Errorf("exit %d, want 0", code)
	}
	for _, want := range []string{"-endpoint-timeout duration", "(default 3s)", "-timeout duration", "(default 10s)",
		"0  every channel runs on its primary endpoint", "3  some channel can be reached only through a secondary endpoint",
		"1  some channel cannot be reached at all"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("help lacks %q:\n%s", want, errOut)
		}
	}
}

// TestCheckSlackRefused: a Slack API that refuses connections is reported
// as a refused connection at its address, not as a token problem.
func TestCheckSlackRefused(t *testing.T) {
	dead := deadAddr(t)
	config := writeTestConfig(t, `mode: actual
public_url: https://krisen.kreis-soest.example
channels:
  - id: krisenstab
    type: slack
    endpoints: [{name: bot, token: xoxb-krisenstab, channel: "#krisenstab", api_url: "http://`+dead+`/api/"}]
towns:
  - {id: soest, name: Stadt Soest, channels: [krisenstab]}
`)
	code, out, errOut := run(t, map[string]string{"CRIER_LANG": "en"}, "check", "--config", config)
	if code != exitFailure {
		t.Errorf("exit %d, want %d\n%s%s", code, exitFailure, out, errOut)
	}
	if !strings.Contains(out, "connection to "+dead+" refused") || strings.Contains(out, "token") {
		t.Errorf("want the refused connection named, and no word of the token:\n%s", out)
	}
}

// TestCheckPath: a webhook without probe_url cannot be probed; its path is
// checked instead, over its network. Through a proxy that refuses
// connections the endpoint is unreachable and the check fails; through a
// live proxy only the path is claimed, and nothing reaches the receiver;
// with its network's DNS server down the name is reported unresolved.
func TestCheckPath(t *testing.T) {
	secret := webhooktest.NewSecret(t)
	recv := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	config := func(proxy string) string {
		return writeTestConfig(t, fmt.Sprintf(`mode: actual
public_url: https://krisen.kreis-soest.example
networks:
  tunnel: {proxy: "%s"}
channels:
  - id: radio
    type: webhook
    endpoints: [{name: tunneled, url: "%s/hook", secret: "${S}", network: tunnel}]
towns:
  - {id: soest, name: Stadt Soest, channels: [radio]}
  - {id: werl, name: Stadt Werl, channels: [radio]}
`, proxy, recv.URL()))
	}
	env := map[string]string{"S": secret}

	deadProxy := deadAddr(t)
	for _, scheme := range []string{"http", "socks5"} {
		code, out, errOut := run(t, env, "check", "--config", config(scheme+"://"+deadProxy))
		if code != exitFailure {
			t.Errorf("dead %s proxy: exit %d, want %d\n%s%s", scheme, code, exitFailure, out, errOut)
		}
		if !regexp.MustCompile(`radio +tunneled +tunnel +nicht erreichbar +\d+ ms +Verbindung zum Proxy ` +
			regexp.QuoteMeta(deadProxy) + ` abgewiesen\n`).MatchString(out) {
			t.Errorf("dead %s proxy: the refused proxy is not named:\n%s", scheme, out)
		}
		if !strings.Contains(out, "1 von 1 Kanälen nicht erreichbar: radio") {
			t.Errorf("dead %s proxy: the channel is not reported unreachable:\n%s", scheme, out)
		}
	}

	proxy := proxytest.NewHTTPConnect(t)
	env["CRIER_LANG"] = "en"
	code, out, errOut := run(t, env, "check", "--config", config(proxy.URL()))
	if code != exitOK {
		t.Errorf("live proxy: exit %d, want 0\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"path reachable, receiver not verified",
		"runs on its primary (tunneled, network tunnel) – path only, receiver not verified",
		"For 1 channel only the path was checked, not the receiver.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("live proxy: output lacks %q:\n%s", want, out)
		}
	}
	// The proxy's connection to the receiver is counted when the
	// receiver's accept loop gets to it, which may be just after the check
	// ended: wait for it, boundedly.
	for deadline := time.Now().Add(5 * time.Second); recv.Conns() == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if recv.Conns() != 1 || len(recv.Requests()) != 0 || len(recv.Probes()) != 0 {
		t.Errorf("receiver: %d connections, %d posts, %d probes; want one connection and nothing sent",
			recv.Conns(), len(recv.Requests()), len(recv.Probes()))
	}
	if len(proxy.Targets()) != 1 {
		t.Errorf("proxy tunnels %v, want one", proxy.Targets())
	}

	// A network whose DNS server is silent: the receiver's name cannot be
	// resolved, and the endpoint is not counted as reachable.
	dns := dnstest.NewServer(t, "127.0.0.1:0")
	dns.Stop()
	dnsConfig := writeTestConfig(t, fmt.Sprintf(`mode: actual
public_url: https://krisen.kreis-soest.example
networks:
  lte: {dns: ["%s"]}
channels:
  - id: radio
    type: webhook
    endpoints: [{name: lte, url: "http://radio.example:%s/hook", secret: "${S}", network: lte}]
towns:
  - {id: soest, name: Stadt Soest, channels: [radio]}
`, dns.Addr(), portOf(t, strings.TrimPrefix(recv.URL(), "http://"))))
	code, out, errOut = run(t, env, "check", "--config", dnsConfig, "--endpoint-timeout", "500ms")
	if code != exitFailure {
		t.Errorf("dead DNS: exit %d, want %d\n%s%s", code, exitFailure, out, errOut)
	}
	if !strings.Contains(out, "name radio.example could not be resolved (DNS "+dns.Addr()+")") {
		t.Errorf("dead DNS: the unresolved name is not reported:\n%s", out)
	}
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

// TestCheckRelayTrust: crier check shows an email endpoint's ca_file and
// pinned key, and for a relay whose certificate it cannot trust, which
// settings would make it trusted, with the key's pin.
func TestCheckRelayTrust(t *testing.T) {
	relay := smtptest.NewServer(t, smtptest.Options{TLS: smtptest.ServerTLS(t)})
	cert, err := loopbackcert.Get()
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "relay-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Leaf.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	pin := email.KeyPin(cert.Leaf)
	config := writeTestConfig(t, fmt.Sprintf(`mode: actual
public_url: https://krisen.kreis-soest.example
channels:
  - id: mail-soest
    type: email
    from: "Stadt Soest <presse@soest.example>"
    endpoints:
      - {name: system-roots, host: 127.0.0.1, port: %[1]d}
      - {name: internal-ca, host: 127.0.0.1, port: %[1]d, ca_file: %[2]q}
      - {name: pinned, host: 127.0.0.1, port: %[1]d, tls_pin_sha256: %[3]q}
towns:
  - {id: soest, name: Stadt Soest, channels: [mail-soest]}
`, relay.Port(), caFile, strings.ToUpper(pin)))
	code, out, errOut := run(t, nil, "check", "--config", config)
	if code != exitSecondary {
		t.Errorf("exit %d, want %d: the primary's certificate is not trusted\n%s%s", code, exitSecondary, out, errOut)
	}
	for _, want := range []string{
		"system-roots  default  abgewiesen",
		"Zertifikat von 127.0.0.1 nicht vertrauenswürdig: ca_file auf die PEM-Datei der ausstellenden Stelle setzen oder tls_pin_sha256 auf den SHA-256 des Schlüssels (" + pin + ")",
		"vertraut zusätzlich den Zertifizierungsstellen aus " + caFile,
		"Schlüssel des Relays festgelegt (tls_pin_sha256 " + pin + ")",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
