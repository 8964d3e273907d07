package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

func emailRateRow() row {
	return row{
		name: "email-rate", title: "email rate",
		what: "personalised mails to an in-process SMTP sink, first → last mail, crier next to a raw go-mail loop " +
			"(reused connections, WithoutNoop) with as many connections, in the same run",
		size: func(s Sizes) string {
			return fmt.Sprintf("%s mails, %d connections", num(float64(s.Mails)), s.Connections)
		},
		targets: []Target{{Metric: "ratio", Op: ">=", Limit: 1.0, Unit: "×", Label: "crier ≥ 1.0× raw"}},
		run:     runEmailRate,
	}
}

func emailEndToEndRow() row {
	return row{
		name: "email-e2e", title: "email end to end",
		what: "publish → last mail at a sink in the parent process, crier in a process of its own",
		size: func(s Sizes) string {
			return fmt.Sprintf("%s recipients, %d connections", num(float64(s.Recipients)), s.Connections)
		},
		targets: []Target{{Metric: "rate", Op: ">=", Limit: 4400, Unit: "mails/s", Label: "≥ 4 400 mails/s"}},
		run: func(ctx context.Context, r *runner, res *Result) error {
			e, err := r.emailRun(ctx)
			if err != nil {
				return err
			}
			rate := float64(e.child.Deliveries) / e.e2e.Seconds()
			res.add("rate", rate, "mails/s")
			res.add("seconds", e.e2e.Seconds(), "s")
			res.add("size", e.bytes, "B/mail")
			res.Summary = fmt.Sprintf("%s mails/s (%s s, %s B a mail)", num(rate), num(e.e2e.Seconds()), num(e.bytes))
			return nil
		},
	}
}

func emailCostRow() row {
	return row{
		name: "email-cost", title: "email cost",
		what: "CPU time (user + sys) of the crier process per mail from publish to the last outcome recorded, " +
			"and its peak RSS (VmHWM: since it started)",
		size: func(s Sizes) string {
			return fmt.Sprintf("the %s mails of email end to end", num(float64(s.Recipients)))
		},
		targets: []Target{
			{Metric: "cpu", Op: "<=", Limit: 100, Unit: "µs/mail", Label: "≤ 100 µs CPU per mail"},
			{Metric: "peak-rss", Op: "<=", Limit: 115, Unit: "MB", Label: "peak RSS ≤ 115 MB"},
		},
		run: func(ctx context.Context, r *runner, res *Result) error {
			e, err := r.emailRun(ctx)
			if err != nil {
				return err
			}
			c := e.child
			if c.UserNS < 0 || c.PeakRSS < 0 {
				return fmt.Errorf("the CPU time or peak RSS of a process: %w", errUnsupported)
			}
			n := float64(c.Deliveries)
			cpu := float64(c.UserNS+c.SysNS) / 1e3 / n
			res.add("cpu", cpu, "µs/mail")
			res.add("peak-rss", float64(c.PeakRSS)/1e6, "MB")
			res.add("user", float64(c.UserNS)/1e3/n, "µs/mail")
			res.add("sys", float64(c.SysNS)/1e3/n, "µs/mail")
			res.Summary = fmt.Sprintf("%s µs CPU a mail (user %s, sys %s); peak RSS %s MB",
				num(cpu), num(float64(c.UserNS)/1e3/n), num(float64(c.SysNS)/1e3/n), num(float64(c.PeakRSS)/1e6))
			return nil
		},
	}
}

// runEmailRate sends Mails mails through crier, from publish with the
// workers running, and then the same mails with go-mail alone, both to
// one in-process sink, and compares their rates from the first to the
// last mail.
func runEmailRate(ctx context.Context, r *runner, res *Result) error {
	s := r.opts.Sizes
	sink := startSink(r.fakes)
	tmpl := filepath.Join(r.dir, "templates")
	if err := writeMailTemplates(tmpl); err != nil {
		return err
	}
	app, err := r.build(ctx, r.dir, mailConfig(sink.Port(), s.Connections, tmpl, r.opts.Prefetch))
	if err != nil {
		return err
	}
	defer app.Close()
	if err := subscribe(ctx, app.Store, soest().id, s.Mails); err != nil {
		return err
	}
	// The rendered message the raw loop personalises, exactly as crier
	// renders it.
	plan, err := app.Engine.Preview(ctx, mailNotice())
	if err != nil {
		return err
	}
	if len(plan.Problems) > 0 || len(plan.Messages) != 1 {
		return fmt.Errorf("preview: %d messages, problems %v", len(plan.Messages), plan.Problems)
	}

	count := sink.expect(s.Mails)
	fin := watch(app.Workers)
	fin.expect(s.Mails)
	stop := runWorkers(ctx, app.Workers)
	p, err := app.Engine.Publish(ctx, mailNotice(), "")
	if err == nil {
		err = count.wait(ctx, sendWithin(s.Mails))
	}
	if err == nil {
		err = fin.wait(ctx, app.Store, time.Minute)
	}
	err = errors.Join(err, stop())
	if err != nil {
		return err
	}
	if err := allSent(ctx, app.Store, p.Announcement.ID, s.Mails); err != nil {
		return err
	}
	raw, err := rawSend(ctx, sink, plan.Messages[0], s.Mails, s.Connections)
	if err != nil {
		return fmt.Errorf("raw go-mail: %w", err)
	}

	n := float64(s.Mails)
	crierRate, rawRate := n/count.span().Seconds(), n/raw.span().Seconds()
	ratio := crierRate / rawRate
	res.add("ratio", ratio, "×")
	res.add("crier", crierRate, "mails/s")
	res.add("raw", rawRate, "mails/s")
	res.add("crier-size", float64(count.bytes.Load())/n, "B/mail")
	res.add("raw-size", float64(raw.bytes.Load())/n, "B/mail")
	res.Summary = fmt.Sprintf("%s× (crier %s/s, raw %s/s; %s B a mail)", num(ratio), num(crierRate), num(rawRate),
		num(float64(count.bytes.Load())/n))
	return nil
}

// sendWithin bounds the wait for n mails: far longer than any healthy
// run takes.
func sendWithin(n int) time.Duration { return 2*time.Minute + time.Duration(n)*10*time.Millisecond }

// emailRun is the child run the email end-to-end and cost rows report on.
type emailRun struct {
	child *ChildReport
	e2e   time.Duration // publish → last mail at the sink
	bytes float64       // per mail
	err   error
}

// emailRun runs crier in a child process that sends to Recipients
// subscribers of Soest at a sink in this process, once per run.
func (r *runner) emailRun(ctx context.Context) (*emailRun, error) {
	if r.email != nil {
		return r.email, r.email.err
	}
	e := &emailRun{}
	sink := startSink(r.fakes)
	c, count, err := r.child(ctx, emailEndToEndRow().name, sink, r.opts.Sizes.Recipients)
	if err == nil {
		e.child = c
		e.e2e = count.lastAt().Sub(time.Unix(0, c.Published))
		e.bytes = float64(count.bytes.Load()) / float64(c.Deliveries)
	}
	e.err = err
	r.email = e
	return e, err
}
