package main

// A benchmark of publishing while every Mastodon endpoint is unreachable,
// through "crier serve" and its API as the CLI uses them:
//
//	go test -run '^$' -bench PublishMastodonBlackholed -benchtime 1x ./cmd/crier

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/email/smtptest"
	"github.com/crierhq/crier/channels/slack/slackfake"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
	"github.com/crierhq/crier/server"
)

// The bounds of BenchmarkPublishMastodonBlackholed: far past its targets
// (a publish under 1 s, its other deliveries sent within 5 s), so that a
// slow path is measured, and finite, so that a path that never ends is
// reported as the bound instead of hanging the run.
const (
	outagePublishes   = 20               // publishes measured per iteration
	outageSubscribers = 3                // confirmed subscribers per town
	outagePublishWait = 60 * time.Second // the API client's timeout for one publish
	outageSendWait    = 60 * time.Second // the wait for a publish's other deliveries
)

// BenchmarkPublishMastodonBlackholed publishes 20 times for the 14 towns
// of Kreis Soest through the API of a running "crier serve" in actual
// mode, while every Mastodon endpoint is blackholed: the instance and the
// backup instance accept TCP connections and never answer. In "plain"
// they are http:// addresses, so a request is written and its answer
// never comes; in "tls" they are https:// addresses, so the TLS handshake
// never completes. Every town has five channels: its Mastodon account,
// its Slack channel (slackfake), its email list of three subscribers (an
// in-process SMTP server), the local radio's webhook and a webhook to the
// town's website (webhooktest): 98 deliveries per publish, 84 of them not
// to Mastodon.
//
// After each publish it waits until the 84 are sent, as the API reports
// them, before the next one, so that Slack's pacing of one message per
// second and channel does not carry over from one publish to the next.
// The Mastodon deliveries of earlier publishes keep trying meanwhile.
//
// Reported: p50-ms and p99-ms, the latency of a publish as the client
// sees it (a publish that times out counts as outagePublishWait); sent-s,
// the longest time from the start of a publish until its last email,
// Slack and webhook delivery is sent (outageSendWait when some are not,
// or when the publish got no answer); timeouts, the publishes that got no
// answer; unsent, the email, Slack and webhook deliveries not seen sent
// within the wait, all 84 of a publish that got no answer among them. The
// targets: p99 under 1 s, sent-s under 5 s.
// Run with -benchtime 1x: one iteration is 20 publishes.
func BenchmarkPublishMastodonBlackholed(b *testing.B) {
	for _, v := range []struct{ name, scheme string }{{"plain", "http"}, {"tls", "https"}} {
		b.Run(v.name, func(b *testing.B) { benchBlackholed(b, v.scheme) })
	}
}

func benchBlackholed(b *testing.B, scheme string) {
	towns := benchKreisSoest
	instance, backup := channeltest.Blackhole(b), channeltest.Blackhole(b)
	secret := webhooktest.NewSecret(b)
	hooks := webhooktest.NewReceiver(b, secret, crier.SystemClock{})
	slack := slackfake.NewServer(b, slackfake.Options{Tokens: []string{"xoxb-krisenstab"}})
	smtp := smtptest.NewServer(b, smtptest.Options{Discard: true})
	config := outageConfig(b, towns, scheme+"://"+instance, scheme+"://"+backup, slack.URL(), hooks.URL(), smtp.Port())
	srv := benchServe(b, config, map[string]string{"WEBHOOK_SECRET": secret})
	ctx := context.Background()
	for _, t := range towns {
		var subs []*crier.Subscriber
		for i := range outageSubscribers {
			subs = append(subs, &crier.Subscriber{
				Town: t.id, Email: fmt.Sprintf("buerger%02d@%s.example", i, t.id),
				State: crier.SubscriberConfirmed, Source: "Papierliste Bürgerbüro",
			})
		}
		if _, _, err := srv.Client.AddSubscribers(ctx, subs); err != nil {
			b.Fatal(err)
		}
	}
	client := &server.Client{URL: srv.URL, Token: srv.Client.Token, HTTP: &http.Client{Timeout: outagePublishWait}}
	want := len(towns) * (4 + outageSubscribers)
	others := len(towns) * (3 + outageSubscribers)

	var took []time.Duration
	var sent time.Duration
	timeouts, unsent := 0, 0
	for b.Loop() {
		for range outagePublishes {
			start := time.Now()
			res, err := client.Publish(ctx, benchNotice("all"), "")
			d := time.Since(start)
			if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
				b.Logf("publish: no answer within %v: %v", outagePublishWait, err)
				// Its deliveries cannot be waited for: none is known to
				// be sent.
				took, timeouts = append(took, outagePublishWait), timeouts+1
				sent, unsent = max(sent, outageSendWait), unsent+others
				continue
			}
			if err != nil {
				b.Fatal(err)
			}
			took = append(took, d)
			if res.Deliveries != want {
				b.Fatalf("publish queued %d deliveries, want %d", res.Deliveries, want)
			}
			d, missing := waitOthersSent(b, client, res.Announcement.ID, others, start)
			sent, unsent = max(sent, d), unsent+missing
		}
	}
	slices.Sort(took)
	b.ReportMetric(benchMillis(benchPercentile(took, 50)), "p50-ms")
	b.ReportMetric(benchMillis(benchPercentile(took, 99)), "p99-ms")
	b.ReportMetric(sent.Seconds(), "sent-s")
	b.ReportMetric(float64(timeouts), "timeouts")
	b.ReportMetric(float64(unsent), "unsent")
}

// waitOthersSent polls the API until the email, Slack and webhook
// deliveries of the announcement, want of them, are sent, and returns the
// time since start. After outageSendWait it gives up and returns
// outageSendWait with the number not sent. A delivery of those that ends
// in another final state fails b: it would never be sent.
func waitOthersSent(b *testing.B, c *server.Client, id string, want int, start time.Time) (time.Duration, int) {
	b.Helper()
	deadline := time.Now().Add(outageSendWait)
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		st, err := c.Status(ctx, id)
		cancel()
		if err != nil && time.Now().Before(deadline) {
			b.Fatal(err)
		}
		n, lost := 0, 0
		if st != nil {
			for _, cnt := range st.Counts {
				switch {
				case strings.HasPrefix(cnt.Channel, "mastodon-"):
				case cnt.State == crier.StateSent:
					n += cnt.N
				case cnt.State.Final():
					lost += cnt.N
				}
			}
		}
		if lost > 0 {
			b.Fatalf("announcement %s: %d email, Slack or webhook deliveries final but not sent: %v", id, lost, st.Totals)
		}
		if n >= want {
			return time.Since(start), 0
		}
		if !time.Now().Before(deadline) {
			b.Logf("announcement %s: %d of %d email, Slack and webhook deliveries sent after %v", id, n, want, outageSendWait)
			return outageSendWait, want - n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// outageConfig writes crier for the towns, each with five channels: its
// Mastodon account on the instance and on the backup instance, its Slack
// channel, its email list on the relay at 127.0.0.1:smtpPort, the radio's
// webhook all towns share and a webhook to the town's website.
func outageConfig(b *testing.B, towns []benchTown, instance, backup, slackAPI, hooks string, smtpPort int) string {
	b.Helper()
	var s strings.Builder
	s.WriteString("mode: actual\npublic_url: https://krisen.kreis-soest.example\nchannels:\n")
	fmt.Fprintf(&s, "  - {id: radio, type: webhook, endpoints: [{url: \"%s/radio\", secret: \"${WEBHOOK_SECRET}\"}]}\n", hooks)
	for _, t := range towns {
		fmt.Fprintf(&s, "  - id: mastodon-%s\n    type: mastodon\n    endpoints:\n", t.id)
		fmt.Fprintf(&s, "      - {name: instance, server: %q, token: tok-%s}\n", instance, t.id)
		fmt.Fprintf(&s, "      - {name: backup, server: %q, token: tok-%s-backup}\n", backup, t.id)
		fmt.Fprintf(&s, "  - {id: slack-%s, type: slack, endpoints: [{token: xoxb-krisenstab, channel: \"#krisenstab-%s\", api_url: %q}]}\n", t.id, t.id, slackAPI)
		fmt.Fprintf(&s, "  - id: mail-%s\n    type: email\n    from: \"%s <presse@%s.example>\"\n", t.id, t.name, t.id)
		fmt.Fprintf(&s, "    endpoints: [{host: 127.0.0.1, port: %d, tls: none}]\n", smtpPort)
		fmt.Fprintf(&s, "  - {id: web-%s, type: webhook, endpoints: [{url: \"%s/web/%s\", secret: \"${WEBHOOK_SECRET}\"}]}\n", t.id, hooks, t.id)
	}
	s.WriteString("towns:\n")
	for _, t := range towns {
		fmt.Fprintf(&s, "  - id: %s\n    name: %q\n    ags: %q\n", t.id, t.name, t.ags)
		fmt.Fprintf(&s, "    vars: {phone: %q, office: %q, hours: %q, website: %q, hashtag: %q}\n", t.phone, t.office, t.hours, t.website, t.hashtag)
		fmt.Fprintf(&s, "    channels: [mastodon-%s, slack-%s, mail-%s, radio, web-%s]\n", t.id, t.id, t.id, t.id)
	}
	path := filepath.Join(b.TempDir(), "crier.yaml")
	if err := os.WriteFile(path, []byte(s.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchServe runs "crier serve" in-process as mustServe does, for a
// benchmark: with config, env and a fresh data directory on 127.0.0.1:0,
// until the benchmark ends.
func benchServe(b *testing.B, config string, env map[string]string) *served {
	b.Helper()
	m, _, stderr := testMain(env)
	srv, stop := startServe(b, m, stderr, config, newDataDir(b))
	b.Cleanup(stop)
	return srv
}
