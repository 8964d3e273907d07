package bench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

// failoverWait bounds the wait for the backlog: far past the target, so
// that a slow failover is measured, and short enough that one that never
// comes is reported as a miss instead of holding up the run.
const failoverWait = time.Minute

func failoverRow() row {
	return row{
		name: "failover", title: "failover",
		what: "a backlog of webhooks whose primary endpoint is blackholed (accepts, never completes the TLS handshake): " +
			"publish → the last webhook of the backlog through the secondary, over a network bound to 127.0.0.2, and the " +
			"first; default settings; the wait ends after a minute, and a miss reports that bound",
		size: func(s Sizes) string {
			return fmt.Sprintf("%d webhooks", s.Webhooks)
		},
		targets: []Target{{Metric: "all", Op: "<=", Limit: 5, Unit: "s", Label: "all ≤ 5 s"}},
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
// is a blackhole, and reports when the last and the first arrived through
// the secondary, and how many did within failoverWait.
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
	waited := count.wait(ctx, failoverWait)
	if err := ctx.Err(); err != nil {
		return err
	}
	// A webhook that has not arrived counts as arriving at the bound, so
	// that the row fails its target with the numbers it has.
	arrived := count.n.Load()
	first, all := failoverWait, failoverWait
	if arrived > 0 {
		first = count.firstAt().Sub(start)
	}
	if waited == nil {
		all = count.lastAt().Sub(start)
	}
	res.add("all", all.Seconds(), "s")
	res.add("first", first.Seconds(), "s")
	res.add("arrived", float64(arrived), "")
	switch {
	case arrived == 0:
		res.Summary = fmt.Sprintf("none of %d after %s s (missed)", n, num(failoverWait.Seconds()))
		return nil
	case waited != nil:
		res.Summary = fmt.Sprintf("%d of %d after %s s (missed), first after %s s", arrived, n, num(failoverWait.Seconds()), num(first.Seconds()))
		return nil
	}
	res.Summary = fmt.Sprintf("all %d after %s s, first after %s s", n, num(all.Seconds()), num(first.Seconds()))
	return nil
}
