package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/crierhq/crier/channels/webhook/webhooktest"
)

func commitRow() row {
	return row{
		name: "commit", title: "commit",
		what: "publish → committed for every town × 5 channels: render, check and one transaction",
		size: func(s Sizes) string {
			return fmt.Sprintf("%d towns × 5 channels, %d subscribers each, %d runs", s.Towns, s.Subscribers, s.Runs)
		},
		targets: []Target{{Metric: "p50", Op: "<", Limit: 100, Unit: "ms", Label: "p50 < 100 ms"}},
		run:     runCommit,
	}
}

// countyConfig is crier for every town with five channels each: three
// webhooks all towns share (the local radio, the county's control room, a
// warning app), the town's own email list and a webhook to the town's own
// website. Every endpoint is on loopback, and none is reached: the commit
// row runs no workers.
func countyConfig(ts []town, secret string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "mode: actual\npublic_url: %s\nchannels:\n", publicURL)
	for _, id := range []string{"radio", "leitstelle", "warn-app"} {
		fmt.Fprintf(&b, "  - id: %s\n    type: webhook\n    endpoints: [{url: \"http://127.0.0.1:9/hooks/%s\", secret: %q}]\n", id, id, secret)
	}
	for _, t := range ts {
		fmt.Fprintf(&b, "  - id: mail-%s\n    type: email\n    from: \"%s <presse@%s.example>\"\n", t.id, t.name, t.id)
		b.WriteString("    endpoints: [{host: 127.0.0.1, port: 9, tls: none}]\n")
		fmt.Fprintf(&b, "  - id: web-%s\n    type: webhook\n    endpoints: [{url: \"http://127.0.0.1:9/%s\", secret: %q}]\n", t.id, t.id, secret)
	}
	b.WriteString("towns:\n")
	for _, t := range ts {
		t.yaml(&b, "radio", "leitstelle", "warn-app", "mail-"+t.id, "web-"+t.id)
	}
	return b.String()
}

// runCommit publishes the county notice Runs times, after one publish to
// warm up, to a database that grows with every publish, and reports the
// latency percentiles of Engine.Publish.
func runCommit(ctx context.Context, r *runner, res *Result) error {
	s := r.opts.Sizes
	ts := towns(s.Towns)
	app, err := r.build(ctx, r.dir, countyConfig(ts, webhooktest.NewSecret(r.fakes)))
	if err != nil {
		return err
	}
	defer app.Close()
	for _, t := range ts {
		if err := subscribe(ctx, app.Store, t.id, s.Subscribers); err != nil {
			return err
		}
	}
	want := len(ts) * (4 + s.Subscribers)
	took := make([]time.Duration, 0, s.Runs)
	for i := range s.Runs + 1 {
		start := time.Now()
		p, err := app.Engine.Publish(ctx, countyNotice(), "")
		d := time.Since(start)
		if err != nil {
			return err
		}
		if p.Deliveries != want {
			return fmt.Errorf("a publish queued %d deliveries, want %d", p.Deliveries, want)
		}
		if i > 0 {
			took = append(took, d)
		}
	}
	slices.Sort(took)
	p50, p99 := millis(percentile(took, 50)), millis(percentile(took, 99))
	res.add("p50", p50, "ms")
	res.add("p99", p99, "ms")
	res.add("deliveries", float64(want), "per publish")
	res.Summary = fmt.Sprintf("p50 %s ms, p99 %s ms (%s deliveries each)", num(p50), num(p99), num(float64(want)))
	return nil
}

// percentile returns the nearest-rank p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
