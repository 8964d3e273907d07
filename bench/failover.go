package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

func failoverRow() row {
	return row{
		name: "failover", title: "failover",
		what: "a backlog of webhooks whose primary endpoint is blackholed (accepts, never completes the TLS handshake): " +
			"publish → the first webhook through the secondary, over a network bound to 127.0.0.2; default settings",
		size: func(s Sizes) string {
			return fmt.Sprintf("%d webhooks", s.Webhooks)
		},
		targets: []Target{{Metric: "first", Op: "<=", Limit: 5, Unit: "s", Label: "≤ 5 s"}},
		run:     runFailover,
	}
}

// webhookConfig is crier for n towns that share one radio webhook with
// the given endpoints (YAML) and networks.
func webhookConfig(n int, networks, endpoints string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mode: actual\npublic_url: %s\n%s\nchannels:\n  - id: radio\n    type: webhook\n    endpoints:\n%s\ntowns:\n", publicURL, networks, endpoints)
	for i := range n {
		fmt.Fprintf(&b, "  - {id: town-%03d, name: Gemeinde %03d, vars: {phone: \"02921 103-0\"}, channels: [radio]}\n", i, i)
	}
	return b.String()
}

// runFailover publishes one webhook per town while the primary endpoint
// is a blackhole, and reports when the first and the last arrived through
// the secondary.
func runFailover(ctx context.Context, r *runner, res *Result) error {
	n := r.opts.Sizes.Webhooks
	hole := channeltest.Blackhole(r.fakes)
	secret := webhooktest.NewSecret(r.fakes)
	rcv := webhooktest.NewReceiver(r.fakes, secret, nil)
	count := newCounter(n)
	rcv.OnAccept(func(q *webhooktest.Request) { count.add(len(q.Body)) })
	endpoints := fmt.Sprintf("      - {name: primary, url: \"https://%s/hook\", secret: %q}\n"+
		"      - {name: lte, url: \"%s/hook\", secret: %q, network: lte}", hole, secret, rcv.URL(), secret)
	app, err := r.build(ctx, r.dir, webhookConfig(n, "networks:\n  lte: {source: 127.0.0.2}", endpoints))
	if err != nil {
		return err
	}
	defer app.Close()
	stop := runWorkers(ctx, app.Workers)
	defer stop()

	notice := countyNotice()
	notice.Body = "Das Bürgerbüro der {{.Town.Name}} bleibt geschlossen. Telefon: {{.Vars.phone}}"
	start := time.Now()
	if _, err := app.Engine.Publish(ctx, notice, ""); err != nil {
		return err
	}
	if err := count.wait(ctx, 2*time.Minute); err != nil {
		return fmt.Errorf("secondary: %w", err)
	}
	first, all := count.firstAt().Sub(start), count.lastAt().Sub(start)
	res.add("first", first.Seconds(), "s")
	res.add("all", all.Seconds(), "s")
	res.Summary = fmt.Sprintf("first after %s s, all %d after %s s", num(first.Seconds()), n, num(all.Seconds()))
	return nil
}
