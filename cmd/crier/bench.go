package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"strings"

	"github.com/crierhq/crier/bench"
)

// benchSizes are the size flags of bench, each with the field it sets.
var benchSizes = []struct {
	name, usage string
	field       func(*bench.Sizes) *int
}{
	{"towns", "commit, fan-out: towns, with 5 channels each", func(s *bench.Sizes) *int { return &s.Towns }},
	{"subscribers", "commit: email subscribers per town", func(s *bench.Sizes) *int { return &s.Subscribers }},
	{"runs", "commit: publishes measured", func(s *bench.Sizes) *int { return &s.Runs }},
	{"mails", "email rate: mails sent by crier, and again by go-mail alone", func(s *bench.Sizes) *int { return &s.Mails }},
	{"connections", "email rows: SMTP connections (email concurrency)", func(s *bench.Sizes) *int { return &s.Connections }},
	{"recipients", "email end to end and cost: subscribers of the list", func(s *bench.Sizes) *int { return &s.Recipients }},
	{"jobs", "queue: deliveries drained", func(s *bench.Sizes) *int { return &s.Jobs }},
	{"workers", "queue: jobs worked on at once", func(s *bench.Sizes) *int { return &s.Workers }},
	{"fanout", "memory: subscribers of the list the fan-out goes to", func(s *bench.Sizes) *int { return &s.Fanout }},
	{"webhooks", "failover: webhooks in the backlog", func(s *bench.Sizes) *int { return &s.Webhooks }},
	{"deliveries", "startup: queued deliveries in the data directory", func(s *bench.Sizes) *int { return &s.Deliveries }},
}

// bench measures crier on this machine against loopback sinks it starts
// itself and prints one table with a verdict per target (package bench).
// It exits 1 when a row produced no result or, outside --smoke, missed a
// target. With --child it is the measured process of a row that bench
// itself started.
func (m *Main) bench(ctx context.Context, args []string) error {
	fs := m.flags("bench")
	smoke := fs.Bool("smoke", false, "run every row at tiny sizes, in seconds, and check only that each produces its numbers")
	jsonFile := fs.String("json", "", "also write the results as JSON to `FILE`; - writes them to stdout and the table to stderr")
	only := fs.String("row", "", "run only these rows, comma-separated: "+strings.Join(bench.RowNames(), ", "))
	child := fs.String("child", "", "internal: be the measured process of the --row in `DIR`, which bench prepared")
	prefetch := fs.Int("prefetch", -1, "email and queue rows: delivery.prefetch of the measured crier, rounds of "+
		"deliveries claimed ahead of the sends (default: the configuration's default)")
	profile := fs.String("cpuprofile", "", "write a CPU profile of this process to `FILE` (for go tool pprof); the "+
		"rows that run crier in a process of its own write theirs to FILE-ROW")
	s, def := bench.DefaultSizes(), bench.DefaultSizes()
	for _, f := range benchSizes {
		fs.IntVar(f.field(&s), f.name, *f.field(&def), f.usage)
	}
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) > 0 {
		return usageError("bench takes flags only")
	}
	if *profile != "" {
		stop, err := startCPUProfile(*profile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if *child != "" {
		return bench.RunChild(ctx, m.benchBuild, *child, m.Stdout)
	}
	if *smoke {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		small := bench.SmokeSizes()
		for _, f := range benchSizes {
			if !set[f.name] {
				*f.field(&s) = *f.field(&small)
			}
		}
	}
	for _, f := range benchSizes {
		if *f.field(&s) < 1 {
			return usageError(fmt.Sprintf("--%s must be at least 1", f.name))
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find crier's executable: %w", err)
	}
	var rows []string
	if *only != "" {
		rows = strings.Split(*only, ",")
		for _, r := range rows {
			if !slices.Contains(bench.RowNames(), r) {
				return usageError(fmt.Sprintf("no row %q; the rows are %s", r, strings.Join(bench.RowNames(), ", ")))
			}
		}
	}
	rep, err := bench.Run(ctx, bench.Options{
		Build: m.benchBuild, Executable: exe, Sizes: s, Smoke: *smoke, Rows: rows, Progress: m.Stderr,
		CPUProfile: *profile, Prefetch: prefetchOption(*prefetch),
	})
	if err != nil {
		return err
	}
	if err := m.benchOutput(rep, *jsonFile); err != nil {
		return err
	}
	switch {
	case !rep.Complete():
		fmt.Fprintln(m.Stderr, "crier bench: not every row produced its numbers")
		return &failure{code: exitFailure}
	case !*smoke && !rep.Pass():
		fmt.Fprintln(m.Stderr, "crier bench: targets missed")
		return &failure{code: exitFailure}
	}
	return nil
}

// prefetchOption is the --prefetch flag for bench.Options: nil when not
// given.
func prefetchOption(n int) *int {
	if n < 0 {
		return nil
	}
	return &n
}

// startCPUProfile profiles this process into file until stop is called.
func startCPUProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// benchOutput prints the table, and the JSON when asked for.
func (m *Main) benchOutput(rep *bench.Report, jsonFile string) error {
	table := m.Stdout
	switch jsonFile {
	case "":
	case "-":
		table = m.Stderr
		if err := rep.WriteJSON(m.Stdout); err != nil {
			return err
		}
	default:
		f, err := os.Create(jsonFile)
		if err != nil {
			return err
		}
		if err := rep.WriteJSON(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return rep.WriteTable(table)
}

// benchBuild builds crier from a configuration file on dataDir as serve
// does, for package bench; its log shows errors only, on stderr.
func (m *Main) benchBuild(ctx context.Context, config, dataDir string) (*bench.App, error) {
	cfg, err := m.loadConfig(config, nil)
	if err != nil {
		return nil, err
	}
	cfg.override(dataDir, "")
	log := slog.New(slog.NewTextHandler(m.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	a, err := m.build(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return &bench.App{Engine: a.engine, Workers: a.workers, Store: a.db, Close: a.Close}, nil
}
