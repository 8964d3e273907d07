package bench

import (
	"context"
	"fmt"
	"time"
)

func memoryRow() row {
	return row{
		name: "memory", title: "memory",
		what: "peak RSS (VmHWM) of a crier process of its own that publishes to one list and sends every mail " +
			"to a sink in the parent process",
		size: func(s Sizes) string {
			return fmt.Sprintf("%s subscribers, %d connections", num(float64(s.Fanout)), s.Connections)
		},
		targets: []Target{{Metric: "peak-rss", Op: "<", Limit: 300, Unit: "MB", Label: "< 300 MB"}},
		run:     runMemory,
	}
}

// runMemory prepares a list of Fanout subscribers and lets a child crier
// publish to it and send every mail.
func runMemory(ctx context.Context, r *runner, res *Result) error {
	sink := startSink(r.fakes)
	c, _, err := r.child(ctx, "memory", sink, r.opts.Sizes.Fanout)
	if err != nil {
		return err
	}
	if c.PeakRSS < 0 {
		return fmt.Errorf("the peak RSS of a process: %w", errUnsupported)
	}
	took := time.Duration(c.Done - c.Published)
	rate := float64(c.Deliveries) / took.Seconds()
	res.add("peak-rss", float64(c.PeakRSS)/1e6, "MB")
	res.add("seconds", took.Seconds(), "s")
	res.add("rate", rate, "mails/s")
	res.Summary = fmt.Sprintf("%s MB (the fan-out took %s s, %s mails/s)", num(float64(c.PeakRSS)/1e6), num(took.Seconds()), num(rate))
	return nil
}
