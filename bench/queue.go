package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/crierhq/crier"
)

func queueRow() row {
	return row{
		name: "queue", title: "queue",
		what: "claim → ack drain of queued email deliveries by crier's workers as serve sets them up, from their start " +
			"until every outcome is recorded, with a channel that does nothing and no unsubscribe links to sign",
		size: func(s Sizes) string {
			return fmt.Sprintf("%s jobs, %d workers", num(float64(s.Jobs)), s.Workers)
		},
		targets: []Target{{Metric: "rate", Op: ">=", Limit: 20_000, Unit: "jobs/s", Label: "≥ 20 000 jobs/s"}},
		run:     runQueue,
	}
}

// nothing is a channel that accepts every message at once.
type nothing struct{}

func (nothing) Send(context.Context, *crier.Message) (*crier.Receipt, error) {
	return &crier.Receipt{}, nil
}

// runQueue fills the queue with Jobs deliveries of Soest's list and
// drains it with workers as serve configures them, except that the email
// channel is one that does nothing, that no unsubscribe links are signed
// and that Workers jobs are worked on at once: what is measured is
// claiming, recording outcomes and their attempts, and the dispatcher
// around them.
func runQueue(ctx context.Context, r *runner, res *Result) error {
	s := r.opts.Sizes
	dir := filepath.Join(r.dir, "crier")
	// The relay is never reached: the workers below send through nothing.
	if err := r.prefill(ctx, dir, 9, s.Jobs, true); err != nil {
		return err
	}
	app, err := r.opts.Build(ctx, filepath.Join(dir, "crier.yaml"), dataDir(dir))
	if err != nil {
		return err
	}
	defer app.Close()
	b := app.Workers
	w := &crier.Workers{
		Queue: b.Queue, Clock: b.Clock, Logger: b.Logger,
		Channels:    map[string]*crier.ChannelInfo{"mail-soest": {ID: "mail-soest", Type: "email", PerSubscriber: true, Channel: nothing{}}},
		Concurrency: map[string]int{"email": s.Workers},
		Prefetch:    b.Prefetch, Lease: b.Lease, SendTimeout: b.SendTimeout, MaxAttempts: b.MaxAttempts,
		Backoff: b.Backoff, Poll: b.Poll, ShutdownTimeout: b.ShutdownTimeout,
	}
	fin := watch(w)
	fin.expect(s.Jobs)
	start := time.Now()
	stop := runWorkers(ctx, w)
	err = fin.wait(ctx, app.Store, 10*time.Minute)
	took := time.Since(start)
	if err := errors.Join(err, stop()); err != nil {
		return err
	}
	rate := float64(s.Jobs) / took.Seconds()
	res.add("rate", rate, "jobs/s")
	res.add("seconds", took.Seconds(), "s")
	res.Summary = fmt.Sprintf("%s jobs/s (%s s)", num(rate), num(took.Seconds()))
	return nil
}
