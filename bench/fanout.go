package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/crierhq/crier/channels/mastodon/mastodontest"
	"github.com/crierhq/crier/channels/slack/slackfake"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

func fanoutRow() row {
	return row{
		name: "fan-out", title: "fan-out",
		what: "publish → every delivery final, 5 non-email channels per town: 3 webhooks, the town's Mastodon " +
			"account and Slack channel, at fakes that answer at once",
		size: func(s Sizes) string {
			return fmt.Sprintf("%d towns × 5 channels = %d deliveries", s.Towns, 5*s.Towns)
		},
		targets: []Target{{Metric: "seconds", Op: "<", Limit: 1, Unit: "s", Label: "< 1 s"}},
		run:     runFanout,
	}
}

// socialConfig is crier for the towns with five channels each that are
// not email: the local radio's and the control room's webhooks, which all
// towns share, the town's own Mastodon account and Slack channel, and a
// webhook to the town's website.
func socialConfig(ts []town, hooks, secret, mastodon, slack string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mode: actual\npublic_url: %s\nchannels:\n", publicURL)
	for _, id := range []string{"radio", "leitstelle"} {
		fmt.Fprintf(&b, "  - {id: %s, type: webhook, endpoints: [{url: \"%s/%s\", secret: %q}]}\n", id, hooks, id, secret)
	}
	for _, t := range ts {
		fmt.Fprintf(&b, "  - {id: web-%s, type: webhook, endpoints: [{url: \"%s/web/%s\", secret: %q}]}\n", t.id, hooks, t.id, secret)
		fmt.Fprintf(&b, "  - {id: mastodon-%s, type: mastodon, endpoints: [{server: %q, token: tok-%s}]}\n", t.id, mastodon, t.id)
		fmt.Fprintf(&b, "  - {id: slack-%s, type: slack, endpoints: [{token: xoxb-krisenstab, channel: \"#krisenstab-%s\", api_url: %q}]}\n", t.id, t.id, slack)
	}
	b.WriteString("towns:\n")
	for _, t := range ts {
		t.yaml(&b, "radio", "leitstelle", "web-"+t.id, "mastodon-"+t.id, "slack-"+t.id)
	}
	return b.String()
}

// runFanout publishes the county notice to every town's five non-email
// channels with the workers running, and reports the time until every
// delivery is final and recorded.
func runFanout(ctx context.Context, r *runner, res *Result) error {
	ts := towns(r.opts.Sizes.Towns)
	secret := webhooktest.NewSecret(r.fakes)
	hooks := webhooktest.NewReceiver(r.fakes, secret, nil)
	masto := mastodontest.NewServer(r.fakes, mastodontest.Options{})
	slack := slackfake.NewServer(r.fakes, slackfake.Options{})
	app, err := r.build(ctx, r.dir, socialConfig(ts, hooks.URL(), secret, masto.URL(), slack.URL()))
	if err != nil {
		return err
	}
	defer app.Close()
	fin := watch(app.Workers)
	stop := runWorkers(ctx, app.Workers)
	defer stop()

	start := time.Now()
	p, err := app.Engine.Publish(ctx, countyNotice(), "")
	if err != nil {
		return err
	}
	published := time.Since(start)
	fin.expect(p.Deliveries)
	if err := fin.wait(ctx, app.Store, time.Minute); err != nil {
		return err
	}
	took := time.Since(start)
	if err := allSent(ctx, app.Store, p.Announcement.ID, 5*len(ts)); err != nil {
		return err
	}
	res.add("seconds", took.Seconds(), "s")
	res.add("publish", millis(published), "ms")
	res.add("deliveries", float64(p.Deliveries), "")
	res.Summary = fmt.Sprintf("%s s (publish %s ms)", num(took.Seconds()), num(millis(published)))
	return nil
}
