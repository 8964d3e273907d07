package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/mastodon/mastodontest"
	"github.com/crierhq/crier/channels/slack/slackfake"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
	"github.com/crierhq/crier/netpath"
	"github.com/crierhq/crier/server"
)

// The tests of this file run crier as an operator would meet it during an
// outage: through Main, on loopback, with fakes of every remote system.

// radioConfig writes an actual-mode configuration in which the five e2e
// towns publish to one webhook channel "radio" with the given endpoints
// (YAML flow mappings), after the given extra top-level lines.
func radioConfig(t *testing.T, extra string, endpoints ...string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "mode: actual\npublic_url: https://krisen.kreis-soest.example\n%s\nchannels:\n", extra)
	fmt.Fprintf(&b, "  - id: radio\n    type: webhook\n    endpoints:\n")
	for _, ep := range endpoints {
		fmt.Fprintf(&b, "      - %s\n", ep)
	}
	b.WriteString("towns:\n")
	for _, tw := range e2eTowns {
		fmt.Fprintf(&b, "  - {id: %s, name: %s, ags: %q, vars: {phone: %q, office: %q, hours: \"Mo–Fr 8–12 Uhr\"}, channels: [radio]}\n",
			tw.id, tw.name, tw.ags, tw.phone, tw.office)
	}
	path := filepath.Join(t.TempDir(), "crier.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// scrape returns the lines of /metrics that match pattern.
func scrape(t *testing.T, url, pattern string) []string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return regexp.MustCompile(`(?m)^`+pattern+`.*$`).FindAllString(string(body), -1)
}

// endpointOf returns the served health of one endpoint.
func endpointOf(t *testing.T, c *server.Client, channel, endpoint string) server.Endpoint {
	t.Helper()
	list, err := c.Endpoints(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range list {
		if h.Channel == channel && h.Endpoint == endpoint {
			return h
		}
	}
	t.Fatalf("no endpoint %s of %s in %+v", endpoint, channel, list)
	return server.Endpoint{}
}

// TestGoneEndpointFailsOver: a 410 on the first endpoint of a two-endpoint
// webhook chain marks that endpoint gone, not the channel: every delivery
// goes through the second endpoint, later publishes too, and the gone
// state shows in the API, the metrics and crier endpoints. Once a person
// has fixed the receiver and cleared the endpoint, it carries the traffic
// again.
func TestGoneEndpointFailsOver(t *testing.T) {
	secret := webhooktest.NewSecret(t)
	first := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	second := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	config := radioConfig(t, "",
		fmt.Sprintf(`{name: first, url: %q, secret: "${S}"}`, first.URL()),
		fmt.Sprintf(`{name: second, url: %q, secret: "${S}"}`, second.URL()))
	dataDir := newDataDir(t)
	start := func() (*served, func()) {
		m, _, stderr := testMain(map[string]string{"S": secret})
		return startServe(t, m, stderr, config, dataDir)
	}
	srv, stop := start()
	t.Cleanup(func() { stop() })
	cli := func(args ...string) (int, string, string) {
		return run(t, map[string]string{"CRIER_SERVER": srv.URL, "CRIER_LANG": "en"},
			append(args, "--config", config, "--data-dir", srv.DataDir)...)
	}
	first.RespondBody(http.StatusGone, nil, "this hook was removed")

	for round := range 2 {
		res, err := srv.Client.Publish(context.Background(), e2eNotice(), "")
		if err != nil {
			t.Fatal(err)
		}
		waitDone(t, srv.Client, res.Announcement.ID, 30*time.Second)
		ds, err := srv.Client.AllDeliveries(context.Background(), res.Announcement.ID, server.DeliveryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.State != crier.StateSent || d.Endpoint != "second" || d.Attempts != 1 {
				t.Errorf("round %d: %s: %s via %q after %d attempts; want sent via second in one attempt",
					round, d.Key, d.State, d.Endpoint, d.Attempts)
			}
		}
	}
	// Sends already under way when the first 410 came may have got one
	// too; none came after.
	if n := len(first.Requests()); n < 1 || n > crier.DefaultConcurrency {
		t.Errorf("the gone endpoint got %d requests, want 1 to %d", n, crier.DefaultConcurrency)
	}
	h := endpointOf(t, srv.Client, "radio", "first")
	if h.State != netpath.StateGone || h.GoneSince.IsZero() || !strings.Contains(h.LastError, "410") {
		t.Errorf("API: %+v; want gone since some time, with the 410", h)
	}
	if got := scrape(t, srv.URL, `crier_endpoint_up\{channel="radio",endpoint="first"`); len(got) != 1 || !strings.HasSuffix(got[0], " 0") {
		t.Errorf("metrics: %q; want first down", got)
	}
	if code, out, _ := cli("endpoints"); code != exitOK || !regexp.MustCompile(`radio\s+first\s+default\s+gone – please check`).MatchString(out) {
		t.Errorf("crier endpoints: exit %d\n%s", code, out)
	}
	// crier check probes from here and asks the running server what a
	// probe cannot see: first is gone, so radio runs on its secondary.
	code, out, errOut := run(t, map[string]string{"S": secret, "CRIER_LANG": "en"},
		"check", "--config", config, "--data-dir", srv.DataDir)
	if code != exitSecondary || !regexp.MustCompile(`radio\s+first\s+default\s+gone – please check.*gone since`).MatchString(out) {
		t.Errorf("crier check: exit %d, want %d\n%s%s", code, exitSecondary, out, errOut)
	}

	// Only a person clears it: after a restart it is still gone, and the
	// next publish sends nothing there.
	stop()
	srv, stop = start()
	before := len(first.Requests())
	if h := endpointOf(t, srv.Client, "radio", "first"); h.State != netpath.StateGone {
		t.Errorf("after a restart: %+v; want still gone", h)
	}
	res, err := srv.Client.Publish(context.Background(), e2eNotice(), "")
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, srv.Client, res.Announcement.ID, 30*time.Second)
	if n := len(first.Requests()); n != before {
		t.Errorf("the gone endpoint got %d requests after the restart, want none", n-before)
	}

	first.Accept()
	if code, out, errOut := cli("endpoints", "reset", "radio", "first"); code != exitOK {
		t.Fatalf("crier endpoints reset: exit %d\n%s%s", code, out, errOut)
	}
	if got := scrape(t, srv.URL, `crier_endpoint_up\{channel="radio",endpoint="first"`); len(got) != 1 || !strings.HasSuffix(got[0], " 1") {
		t.Errorf("metrics after the reset: %q; want first up", got)
	}
	res, err = srv.Client.Publish(context.Background(), e2eNotice(), "")
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, srv.Client, res.Announcement.ID, 30*time.Second)
	ds, _ := srv.Client.AllDeliveries(context.Background(), res.Announcement.ID, server.DeliveryQuery{})
	for _, d := range ds {
		if d.State != crier.StateSent || d.Endpoint != "first" {
			t.Errorf("after the reset: %s: %s via %q; want sent via first", d.Key, d.State, d.Endpoint)
		}
	}
	// The reset outlives a restart too.
	stop()
	srv, stop = start()
	if h := endpointOf(t, srv.Client, "radio", "first"); h.State != netpath.StateClosed {
		t.Errorf("after the reset and a restart: %+v; want closed", h)
	}
}

// TestSlackPacingIsNoFailover: five towns' notices go to one Slack
// channel at once, faster than Slack's one message per second. crier's
// own pacing holds the later ones back on the same endpoint: no failure,
// no failover to the incoming webhook, no failover in the log or the
// metrics, and the breaker counts nothing.
func TestSlackPacingIsNoFailover(t *testing.T) {
	slack := slackfake.NewServer(t, slackfake.Options{Tokens: []string{"xoxb-krisenstab"}, Clock: crier.SystemClock{}})
	var b strings.Builder
	b.WriteString("mode: actual\npublic_url: https://krisen.kreis-soest.example\nchannels:\n")
	fmt.Fprintf(&b, "  - id: krisenstab\n    type: slack\n    endpoints:\n")
	fmt.Fprintf(&b, "      - {name: bot, token: xoxb-krisenstab, channel: \"#krisenstab\", api_url: %q}\n", slack.URL())
	fmt.Fprintf(&b, "      - {name: hook, webhook_url: %q}\n", slack.WebhookURL())
	b.WriteString("towns:\n")
	for _, tw := range e2eTowns {
		fmt.Fprintf(&b, "  - {id: %s, name: %s, ags: %q, vars: {phone: %q, office: %q, hours: \"Mo–Fr 8–12 Uhr\"}, channels: [krisenstab]}\n",
			tw.id, tw.name, tw.ags, tw.phone, tw.office)
	}
	config := writeTestConfig(t, b.String())
	srv := mustServe(t, config, nil)

	res, err := srv.Client.Publish(context.Background(), e2eNotice(), "")
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, srv.Client, res.Announcement.ID, time.Minute)
	ds, err := srv.Client.AllDeliveries(context.Background(), res.Announcement.ID, server.DeliveryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.State != crier.StateSent || d.Endpoint != "bot" {
			t.Errorf("%s: %s via %q; want sent via bot", d.Key, d.State, d.Endpoint)
		}
	}
	for _, m := range slack.Messages() {
		if m.Webhook {
			t.Errorf("a message came through the incoming webhook: %q", m.Key)
		}
	}
	if got := scrape(t, srv.URL, `crier_failovers_total`); len(got) != 0 {
		t.Errorf("failover metrics: %q; want none", got)
	}
	for line := range strings.Lines(srv.Stderr.String()) {
		if strings.Contains(line, "failover") {
			t.Errorf("the log speaks of failover: %s", line)
		}
	}
	if h := endpointOf(t, srv.Client, "krisenstab", "bot"); h.Failures != 0 || h.State != netpath.StateClosed {
		t.Errorf("bot: %+v; want closed without failures", h)
	}
}

// TestBreakerReleasesOnRecovery: failures open the receiver's breaker for
// an hour; once the receiver is back, the first probe that passes closes
// the breaker and every delivery that waited for it goes at once, not
// after the cool-down.
func TestBreakerReleasesOnRecovery(t *testing.T) {
	secret := webhooktest.NewSecret(t)
	hooks := webhooktest.NewReceiver(t, secret, crier.SystemClock{})
	config := radioConfig(t, "delivery: {probe_interval: 200ms, breaker: {failures: 3, cool_down: 1h}, backoff: {base: 100ms, max: 200ms}}",
		fmt.Sprintf(`{name: radio, url: %q, probe_url: %q, secret: "${S}"}`, hooks.URL()+"/hook", hooks.URL()+"/health"))
	hooks.Respond(http.StatusServiceUnavailable, nil)
	hooks.RespondProbe(http.MethodHead, http.StatusServiceUnavailable, nil)
	srv := mustServe(t, config, map[string]string{"S": secret})

	res, err := srv.Client.Publish(context.Background(), e2eNotice(), "")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for endpointOf(t, srv.Client, "radio", "radio").State != netpath.StateOpen {
		if time.Now().After(deadline) {
			t.Fatal("the breaker did not open within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	hooks.Accept()
	hooks.RespondProbe(http.MethodHead, http.StatusNoContent, nil)
	st := waitDone(t, srv.Client, res.Announcement.ID, 30*time.Second)
	if st.Totals[crier.StateSent] != len(e2eTowns) {
		t.Errorf("after the receiver came back: %v; want all %d sent", st.Totals, len(e2eTowns))
	}
	ds, _ := srv.Client.AllDeliveries(context.Background(), res.Announcement.ID, server.DeliveryQuery{})
	for _, d := range ds {
		if d.Attempts > 3 {
			t.Errorf("%s: %d attempts; sends skipped by the open breaker are no attempts", d.Key, d.Attempts)
		}
	}
}

// TestSkippedAttemptsDoNotCount: on a one-endpoint channel whose breaker
// the probes found open, deliveries wait without counting attempts, so
// that none "gives up after 3 attempts" that sent nothing; once the
// receiver is back they are sent.
func TestSkippedAttemptsDoNotCount(t *testing.T) {
	clock := rigClock()
	secret := webhooktest.NewSecret(t)
	hooks := webhooktest.NewReceiver(t, secret, clock)
	config := radioConfig(t, "delivery: {max_attempts: 3}",
		fmt.Sprintf(`{name: radio, url: %q, probe_url: %q, secret: "${S}"}`, hooks.URL()+"/hook", hooks.URL()+"/health"))
	r := &rig{t: t, clock: clock, hooks: hooks, app: buildApp(t, clock, config, map[string]string{"S": secret})}
	r.hooks.RespondProbe("", http.StatusServiceUnavailable, nil)
	probe := func() {
		for _, c := range r.app.chains {
			c.Probe(context.Background())
		}
	}
	for range 3 {
		probe()
	}
	id := r.publish("radio", time.Time{})
	// The probes keep finding the receiver down, every 20s, for four
	// minutes: its breaker stays open all the time.
	for range 12 {
		probe()
		r.runOnce()
		r.clock.Advance(20 * time.Second)
	}
	d := r.delivery(id)
	if d.State != crier.StateQueued || d.Attempts != 0 {
		t.Fatalf("after the breaker skipped it: %s after %d attempts (%s); want queued, no attempt", d.State, d.Attempts, d.Error)
	}
	r.hooks.RespondProbe("", http.StatusOK, nil)
	probe()
	r.clock.Advance(time.Minute)
	r.runOnce()
	r.expect(id, crier.StateSent, 1, 0, "")
}

// TestHungInstanceDoesNotStarveTheOther: each town posts to an account on
// a healthy instance and to one on an instance that accepts connections
// and never answers. The hung posts hold none of the Mastodon send slots
// for long, so every post to the healthy instance is out within 5s of the
// publish, while the hung ones still wait for their send timeout.
func TestHungInstanceDoesNotStarveTheOther(t *testing.T) {
	healthy := mastodontest.NewServer(t, mastodontest.Options{})
	hung := "http://" + channeltest.Blackhole(t)
	var b strings.Builder
	b.WriteString("mode: actual\npublic_url: https://krisen.kreis-soest.example\ndelivery: {shutdown_timeout: 1s}\nchannels:\n")
	for _, tw := range e2eTowns {
		fmt.Fprintf(&b, "  - {id: m1-%s, type: mastodon, endpoints: [{name: m1, server: %q, token: tok-%s}]}\n", tw.id, healthy.URL(), tw.id)
		fmt.Fprintf(&b, "  - {id: m2-%s, type: mastodon, endpoints: [{name: m2, server: %q, token: tok-%s}]}\n", tw.id, hung, tw.id)
	}
	b.WriteString("towns:\n")
	for _, tw := range e2eTowns {
		fmt.Fprintf(&b, "  - {id: %s, name: %s, ags: %q, vars: {phone: %q, office: %q, hours: \"Mo–Fr 8–12 Uhr\"}, channels: [m2-%s, m1-%s]}\n",
			tw.id, tw.name, tw.ags, tw.phone, tw.office, tw.id, tw.id)
	}
	srv := mustServe(t, writeTestConfig(t, b.String()), nil)

	start := time.Now()
	if _, err := srv.Client.Publish(context.Background(), e2eNotice(), ""); err != nil {
		t.Fatal(err)
	}
	for len(healthy.Statuses()) < len(e2eTowns) {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%d of %d posts on the healthy instance within 5s of the publish", len(healthy.Statuses()), len(e2eTowns))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("all %d posts on the healthy instance %v after the publish", len(e2eTowns), time.Since(start).Round(time.Millisecond))
}

// TestTLSBlackholeFailsOver: a primary that accepts connections and never
// completes the TLS handshake proves that nothing was sent when the
// handshake times out: the same attempt goes on to the secondary, another
// receiver, and the primary's breaker opens at once. (Over plain HTTP the
// request is written and the outcome unknown: see
// TestFailoverBlackholedPrimaryOtherReceiver.)
func TestTLSBlackholeFailsOver(t *testing.T) {
	r, backup := failoverRig(t, "https://"+channeltest.Blackhole(t)+"/hook", "")
	id := r.publishTo("soest")
	r.runOnce()
	for _, d := range r.deliveries(id) {
		if d.State != crier.StateSent || d.Attempts != 1 || d.Endpoint != "lte-backup" {
			t.Errorf("%s: %s after %d attempts via %q; want sent in one attempt via lte-backup", d.Key, d.State, d.Attempts, d.Endpoint)
		}
	}
	if st := r.chainState("radio", "primary"); st != "open" {
		t.Errorf("primary breaker %s after a handshake timeout, want open", st)
	}
	if got := len(backup.Accepted()); got != 1 {
		t.Errorf("secondary accepted %d webhooks, want 1", got)
	}
}

// TestExerciseWithoutTokensChecksLengths: an exercise on a machine that
// has none of the accounts' tokens or secrets checks every message as the
// real run would: a Mastodon post too long for Mastodon's default limit is
// refused with its problem, and the preview says that the instance's
// limit is not known.
func TestExerciseWithoutTokensChecksLengths(t *testing.T) {
	config := writeTestConfig(t, `mode: exercise
channels:
  - {id: social, type: mastodon, endpoints: [{server: "https://social.example", token: "${SOEST_MASTODON_TOKEN}"}]}
  - {id: krisenstab, type: slack, endpoints: [{token: "${SLACK_BOT_TOKEN}", channel: "#krisenstab"}]}
  - {id: radio, type: webhook, endpoints: [{url: "https://radio.example/hook", secret: "${RADIO_SECRET}"}]}
towns:
  - id: soest
    name: Stadt Soest
    ags: "05974040"
    vars: {phone: "02921 103-0", office: "Am Vreithof 8", hours: "Mo–Fr 8–12 Uhr", hashtag: `+strings.Repeat("Trinkwasser", 50)+`}
    channels: [social, krisenstab, radio]
`)
	srv := mustServe(t, config, nil)
	a := e2eNotice()
	a.Towns = []string{"soest"}
	_, err := srv.Client.Publish(context.Background(), a, "")
	if crier.ErrorCode(err) != crier.EINVALID {
		t.Fatalf("publish of a post with a 550-character hashtag without tokens: %v; want it refused as the real run would", err)
	}
	var where []string
	for _, p := range crier.ErrorDetails(err) {
		where = append(where, p.Channel+" "+p.Field)
	}
	if !slices.Contains(where, "social text") {
		t.Errorf("problems at %q; want the Mastodon text: %v", where, err)
	}
	plan, err := srv.Client.Preview(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Notes) == 0 {
		t.Errorf("preview without a note that social.example's limit is not known")
	}
}
