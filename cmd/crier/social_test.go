package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/mastodon/mastodontest"
	"github.com/crierhq/crier/channels/slack/slackfake"
	"github.com/crierhq/crier/server"
)

// socialFakes are the remote services of the social tests: two Mastodon
// instances with different length limits, and Slack.
type socialFakes struct {
	small, large *mastodontest.Server // 500 and 1 000 characters
	slack        *slackfake.Server
}

func newSocialFakes(t *testing.T, clock crier.Clock) *socialFakes {
	t.Helper()
	var small, large []string
	for _, tw := range e2eTowns {
		small = append(small, "tok-"+tw.id+"-small")
		large = append(large, "tok-"+tw.id+"-large")
	}
	return &socialFakes{
		small: mastodontest.NewServer(t, mastodontest.Options{MaxCharacters: 500, Tokens: small, Clock: clock}),
		large: mastodontest.NewServer(t, mastodontest.Options{MaxCharacters: 1000, Tokens: large, Clock: clock}),
		slack: slackfake.NewServer(t, slackfake.Options{Tokens: []string{"xoxb-krisenstab"}, Clock: clock}),
	}
}

// socialConfig writes an actual-mode configuration in which each of the
// five towns posts through its own account on each instance and to its
// own Slack channel. varsFor may add vars to a town.
func socialConfig(t *testing.T, f *socialFakes, varsFor func(town string) string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("mode: actual\npublic_url: https://krisen.kreis-soest.example\nchannels:\n")
	for _, tw := range e2eTowns {
		fmt.Fprintf(&b, "  - {id: mastodon-%s, type: mastodon, endpoints: [{server: %q, token: tok-%s-small}]}\n", tw.id, f.small.URL(), tw.id)
		fmt.Fprintf(&b, "  - {id: mastodon-%s-kreis, type: mastodon, visibility: unlisted, endpoints: [{server: %q, token: tok-%s-large}]}\n", tw.id, f.large.URL(), tw.id)
		fmt.Fprintf(&b, "  - {id: slack-%s, type: slack, endpoints: [{token: xoxb-krisenstab, channel: \"#krisenstab-%s\", api_url: %q}]}\n", tw.id, tw.id, f.slack.URL())
	}
	b.WriteString("towns:\n")
	for _, tw := range e2eTowns {
		extra := ""
		if varsFor != nil {
			extra = varsFor(tw.id)
		}
		fmt.Fprintf(&b, "  - id: %s\n    name: %s\n    ags: %q\n    vars: {phone: %q, office: %q, hours: \"Mo–Fr 8–12 Uhr\", hashtag: %s%s}\n",
			tw.id, tw.name, tw.ags, tw.phone, tw.office, strings.ToUpper(tw.id[:1])+tw.id[1:], extra)
		fmt.Fprintf(&b, "    channels: [mastodon-%s, mastodon-%s-kreis, slack-%s]\n", tw.id, tw.id, tw.id)
	}
	path := filepath.Join(t.TempDir(), "crier.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSocialEndToEnd publishes to 5 towns, each with two Mastodon accounts
// on two instances and a Slack channel: exactly one status per account
// with the town's own text and the delivery key as Idempotency-Key, and
// one Slack message per channel.
func TestSocialEndToEnd(t *testing.T) {
	f := newSocialFakes(t, crier.SystemClock{})
	srv := mustServe(t, socialConfig(t, f, nil), nil)
	ctx := context.Background()
	a := e2eNotice()
	a.SpoilerText = "IT-Störung"
	res, err := srv.Client.Publish(ctx, a, "social-1")
	if err != nil {
		t.Fatal(err)
	}
	id := res.Announcement.ID
	st := waitDone(t, srv.Client, id, time.Minute)
	if want := 3 * len(e2eTowns); st.Total != want || st.Totals[crier.StateSent] != want {
		t.Fatalf("status %v of %d, want all %d sent", st.Totals, st.Total, want)
	}

	for _, inst := range []struct {
		name       string
		fake       *mastodontest.Server
		suffix     string
		visibility string
	}{{"small", f.small, "", "public"}, {"large", f.large, "-kreis", "unlisted"}} {
		for _, tw := range e2eTowns {
			token := "tok-" + tw.id + "-" + inst.name
			statuses := inst.fake.StatusesOf(token)
			if len(statuses) != 1 {
				t.Errorf("%s instance, account of %s: %d statuses, want exactly 1", inst.name, tw.id, len(statuses))
				continue
			}
			s := statuses[0]
			key := crier.DeliveryKey(id, 1, tw.id, "mastodon-"+tw.id+inst.suffix, 0)
			if s.IdempotencyKey != key {
				t.Errorf("%s: Idempotency-Key %q, want %q", token, s.IdempotencyKey, key)
			}
			if !strings.Contains(s.Text, "#"+strings.ToUpper(tw.id[:1])+tw.id[1:]) || !strings.Contains(s.Text, "/"+tw.id+"/"+id) {
				t.Errorf("%s: status lacks the town's hashtag or link:\n%s", token, s.Text)
			}
			if s.Visibility != inst.visibility || s.Language != "de" || s.SpoilerText != "IT-Störung" {
				t.Errorf("%s: visibility %q, language %q, spoiler %q", token, s.Visibility, s.Language, s.SpoilerText)
			}
		}
		for _, r := range inst.fake.Requests() {
			if r.Method == http.MethodPost && r.Path == "/api/v1/statuses" && r.IdempotencyKey == "" {
				t.Errorf("%s instance: a status POST without Idempotency-Key", inst.name)
			}
		}
	}
	// Deliveries record the status id and URL.
	ds, err := srv.Client.AllDeliveries(ctx, id, server.DeliveryQuery{Channel: "mastodon-soest"})
	if err != nil || len(ds) != 1 || ds[0].RemoteID == "" || !strings.HasPrefix(ds[0].URL, f.small.URL()) {
		t.Errorf("mastodon-soest delivery: %+v, %v; want the status id and URL", ds, err)
	}

	perChannel := map[string]int{}
	for _, m := range f.slack.Messages() {
		perChannel[m.Channel]++
		if !strings.Contains(m.Text, "Bürgerbüro geschlossen") {
			t.Errorf("Slack message without the title: %q", m.Text)
		}
	}
	for _, tw := range e2eTowns {
		cid, ok := f.slack.ChannelID("#krisenstab-" + tw.id)
		if !ok || perChannel[cid] != 1 {
			t.Errorf("Slack channel of %s got %d messages, want 1", tw.id, perChannel[cid])
		}
	}
}

// TestSocialTooLong: a town whose variables make its post too long for one
// instance is named, with that instance, by preview and by the API, and
// the publish is refused with nothing queued.
func TestSocialTooLong(t *testing.T) {
	f := newSocialFakes(t, crier.SystemClock{})
	// Werl's hashtag var is long enough that its post fits 1 000 characters but not 500.
	tags := strings.Repeat("WerlInformiert", 35)
	config := socialConfig(t, f, func(town string) string {
		if town == "werl" {
			return ", extra: x"
		}
		return ""
	})
	text, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(config, []byte(strings.Replace(string(text), "hashtag: Werl, extra: x", "hashtag: \""+tags+"\"", 1)), 0o600)
	srv := mustServe(t, config, nil)
	ctx := context.Background()
	// The instances' limits are what the first probes learn.
	waitProbed(t, srv.Client, time.Minute)

	plan, err := srv.Client.Preview(ctx, e2eNotice())
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(f.small.URL(), "http://")
	var found []string
	for _, p := range plan.Problems {
		found = append(found, p.String())
	}
	if len(found) != 1 || plan.Problems[0].Town != "werl" || plan.Problems[0].Channel != "mastodon-werl" ||
		!strings.Contains(found[0], host) || !strings.Contains(found[0], "500") {
		t.Fatalf("preview problems %q; want one naming werl, mastodon-werl and the 500-character instance %s", found, host)
	}

	_, err = srv.Client.Publish(ctx, e2eNotice(), "")
	if crier.ErrorCode(err) != crier.EINVALID || len(crier.ErrorDetails(err)) != 1 || crier.ErrorDetails(err)[0].Town != "werl" {
		t.Fatalf("publish: %v; want it refused naming werl", err)
	}
	if list, err := srv.Client.Announcements(ctx, 10); err != nil || len(list) != 0 {
		t.Errorf("announcements after the refusal: %d, %v", len(list), err)
	}
	if n, err := queueDepth(t, srv); err != nil || n != 0 {
		t.Errorf("queue depth %d, %v; want 0", n, err)
	}
	if len(f.small.Statuses())+len(f.large.Statuses())+len(f.slack.Messages()) != 0 {
		t.Error("something was posted")
	}
}

// TestSocialCrashSafety kills crier with SIGKILL during a Mastodon fan-out,
// twice, and restarts it: every delivery ends sent and no account has a
// second status.
func TestSocialCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("starts crier three times")
	}
	f := newSocialFakes(t, crier.SystemClock{})
	var created atomic.Int32
	kill := make(chan struct{}, 4)
	onCreate := func(*mastodontest.Status) {
		if n := created.Add(1); n == 2 || n == 6 {
			kill <- struct{}{}
		}
	}
	f.small.OnCreate(onCreate)
	f.large.OnCreate(onCreate)
	config := socialConfig(t, f, nil)
	dataDir := newDataDir(t)
	p := startProcess(t, config, dataDir, nil)
	c := processClient(t, p, dataDir)
	res, err := c.Publish(context.Background(), e2eNotice(), "")
	if err != nil {
		t.Fatal(err)
	}
	for kills := 0; kills < 2; kills++ {
		select {
		case <-kill:
			p.kill()
			p = startProcess(t, config, dataDir, nil)
		case <-time.After(time.Minute):
			t.Fatalf("fan-out ended or stalled before kill %d", kills+1)
		}
	}
	c = processClient(t, p, dataDir)
	waitDone(t, c, res.Announcement.ID, time.Minute)
	ds, err := c.AllDeliveries(context.Background(), res.Announcement.ID, server.DeliveryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	slackPosts := map[string]int{}
	for _, m := range f.slack.Messages() {
		slackPosts[m.Key]++
	}
	for _, d := range ds {
		switch {
		case d.Type == "mastodon" && d.State != crier.StateSent:
			// Mastodon deduplicates on the key: in-flight posts are repeated safely.
			t.Errorf("%s: %s, want sent", d.Key, d.State)
		case d.Type == "slack" && d.State == crier.StateSent && slackPosts[d.Key] != 1:
			t.Errorf("%s is sent but Slack has %d messages for it", d.Key, slackPosts[d.Key])
		case d.Type == "slack" && d.State != crier.StateSent && d.State != crier.StateUnknown:
			// Slack has no idempotency key: an in-flight post becomes unknown, never a repeat.
			t.Errorf("%s: %s, want sent or unknown", d.Key, d.State)
		}
	}
	for key, n := range slackPosts {
		if n > 1 {
			t.Errorf("Slack has %d messages for %s", n, key)
		}
	}
	for _, inst := range []*mastodontest.Server{f.small, f.large} {
		perAccount := map[string]int{}
		for _, s := range inst.Statuses() {
			perAccount[s.Token]++
		}
		for token, n := range perAccount {
			if n != 1 {
				t.Errorf("account %s has %d statuses, want 1", token, n)
			}
		}
		if len(perAccount) != len(e2eTowns) {
			t.Errorf("%d accounts posted, want %d", len(perAccount), len(e2eTowns))
		}
	}
}

// TestMastodonRateLimitReset: a 429 with X-RateLimit-Reset makes crier
// wait exactly until the reset (on the injected clock), with one request:
// go-mastodon's own retry loop never runs.
func TestMastodonRateLimitReset(t *testing.T) {
	r := &rig{t: t, clock: rigClock()}
	f := newSocialFakes(t, r.clock)
	r.app = buildApp(t, r.clock, socialConfig(t, f, nil), nil)
	id := r.publish("mastodon-soest", time.Time{})
	reset := r.clock.Now().Add(7 * time.Minute)
	f.small.Respond(http.StatusTooManyRequests, http.Header{
		"X-RateLimit-Remaining": {"0"}, "X-RateLimit-Reset": {mastodontest.FormatReset(reset)},
	})
	r.runOnce()
	r.expect(id, crier.StateQueued, 1, 7*time.Minute, "429")
	posts := func() int {
		n := 0
		for _, q := range f.small.Requests() {
			if q.Method == http.MethodPost && q.Path == "/api/v1/statuses" {
				n++
			}
		}
		return n
	}
	if n := posts(); n != 1 {
		t.Fatalf("%d status requests after the 429, want 1: nothing may retry on its own", n)
	}
	f.small.Accept()
	r.retryAt(7 * time.Minute)
	r.expect(id, crier.StateSent, 2, 0, "")
	if n := posts(); n != 2 || len(f.small.Statuses()) != 1 {
		t.Errorf("%d status requests and %d statuses, want 2 and 1", n, len(f.small.Statuses()))
	}
}
