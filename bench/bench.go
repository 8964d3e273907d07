package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Sizes are the sizes and worker counts of the rows.
type Sizes struct {
	Towns       int // commit and fan-out: towns, five channels each
	Subscribers int // commit: email subscribers per town
	Runs        int // commit: publishes measured, after one to warm up
	Mails       int // email rate: mails crier sends, and as many the raw loop sends
	Connections int // email rows: SMTP sessions, crier's email concurrency
	Recipients  int // email end to end and cost: the list crier sends to
	Jobs        int // queue: deliveries drained
	Workers     int // queue: parallel jobs (the email concurrency of the queue's workers)
	Fanout      int // memory: subscribers of the list the fan-out goes to
	Webhooks    int // failover: webhooks in the backlog
	Deliveries  int // startup: deliveries in the data directory
}

// DefaultSizes are the sizes the targets are stated for.
func DefaultSizes() Sizes {
	return Sizes{
		Towns: 70, Subscribers: 50, Runs: 50,
		Mails: 100_000, Connections: 8, Recipients: 20_000,
		Jobs: 100_000, Workers: 8,
		Fanout:   1_000_000,
		Webhooks: 200, Deliveries: 1_000_000,
	}
}

// SmokeSizes are sizes at which every row runs in seconds: enough to
// show that each produces its numbers, too small for the targets to mean
// anything.
func SmokeSizes() Sizes {
	return Sizes{
		Towns: 3, Subscribers: 5, Runs: 5,
		Mails: 200, Connections: 2, Recipients: 200,
		Jobs: 500, Workers: 8,
		Fanout: 500,
		// Fewer webhooks than the default concurrency: they all wait for
		// one handshake timeout, not two.
		Webhooks: 3, Deliveries: 1_000,
	}
}

// Options configure a run.
type Options struct {
	// Build builds crier from a configuration file; required.
	Build Builder
	// Executable is the crier program. The rows that measure a process
	// (email end to end and cost, memory) run it as "crier bench --row R
	// --child DIR", so that its CPU time and peak memory are its own; the
	// startup row runs "crier serve". Children inherit the environment.
	Executable string
	Sizes      Sizes
	// Smoke marks the report as a smoke run: rows are produced, targets
	// not judged.
	Smoke bool
	// Rows names the rows to run, in any order; empty runs them all.
	Rows []string
	// Dir is where configurations and data directories go; empty means a
	// temporary directory removed at the end.
	Dir string
	// Progress, when set, gets a line as each row starts and ends.
	Progress io.Writer
	// Prefetch, when set, is the delivery.prefetch of the crier the email
	// and queue rows build; nil keeps the configuration's default.
	Prefetch *int
	// CPUProfile, when set, is passed to the measured processes as
	// "--cpuprofile CPUProfile-ROW", so that their profiles are written
	// next to the caller's own.
	CPUProfile string
}

// row is one line of the table.
type row struct {
	name, title, what string
	targets           []Target
	size              func(s Sizes) string
	run               func(ctx context.Context, r *runner, res *Result) error
}

// rows returns every row, in the order of the table.
func rows() []row {
	return []row{commitRow(), emailRateRow(), emailEndToEndRow(), emailCostRow(), fanoutRow(),
		queueRow(), memoryRow(), failoverRow(), startupRow()}
}

// RowNames returns the names of the rows, in the order of the table.
func RowNames() []string {
	var names []string
	for _, r := range rows() {
		names = append(names, r.name)
	}
	return names
}

// runner is the state of a run: what the rows share, and the row that
// runs.
type runner struct {
	opts Options
	root string // the run's directory
	// dir and fakes are the running row's directory and the fixture its
	// fakes stop with.
	dir   string
	fakes *fixture
	// email holds the child run that the email end-to-end and cost rows
	// both report on, once one of them has made it.
	email *emailRun
}

// Run runs the selected rows one after the other and returns their
// results. A row that fails has its Error set and the others still run;
// Run's error is for a wrong request or a canceled ctx.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Build == nil {
		return nil, errors.New("bench: no Builder")
	}
	selected, err := selectRows(o.Rows)
	if err != nil {
		return nil, err
	}
	r := &runner{opts: o, root: o.Dir}
	if r.root == "" {
		if r.root, err = os.MkdirTemp("", "crier-bench-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(r.root)
	}
	rep := &Report{Machine: describeMachine(), Smoke: o.Smoke, Started: time.Now()}
	for _, rw := range selected {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		res := &Result{Row: rw.name, Title: rw.title, What: rw.what, Size: rw.size(o.Sizes), Targets: slices.Clone(rw.targets)}
		r.progress("%s: %s…", rw.name, res.Size)
		start := time.Now()
		if err := r.runRow(ctx, rw, res); err != nil {
			res.Error = err.Error()
		}
		res.Seconds = time.Since(start).Seconds()
		res.judge()
		rep.Results = append(rep.Results, res)
		r.progress("%s: %s (%.1f s)", rw.name, res.summary(), res.Seconds)
	}
	return rep, ctx.Err()
}

// selectRows returns the named rows in table order, or all of them.
func selectRows(names []string) ([]row, error) {
	all := rows()
	if len(names) == 0 {
		return all, nil
	}
	var out []row
	for _, name := range names {
		if !slices.ContainsFunc(all, func(r row) bool { return r.name == name }) {
			return nil, fmt.Errorf("bench: no row %q; the rows are %s", name, strings.Join(RowNames(), ", "))
		}
	}
	for _, r := range all {
		if slices.Contains(names, r.name) {
			out = append(out, r)
		}
	}
	return out, nil
}

// runRow runs one row in a directory of its own, with the fakes it starts
// stopped at its end.
func (r *runner) runRow(ctx context.Context, rw row, res *Result) (err error) {
	r.fakes = &fixture{}
	defer r.fakes.close()
	defer recoverFatal(&err)
	r.dir = filepath.Join(r.root, rw.name)
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return err
	}
	return rw.run(ctx, r, res)
}

func (r *runner) progress(format string, args ...any) {
	if r.opts.Progress != nil {
		fmt.Fprintf(r.opts.Progress, "bench: "+format+"\n", args...)
	}
}
