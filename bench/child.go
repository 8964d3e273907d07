package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/crierhq/crier"
)

// ChildReport is what "crier bench --row R --child DIR" prints: the
// measurements of one fan-out, taken inside the crier process that made
// it.
type ChildReport struct {
	Deliveries int   `json:"deliveries"`
	Published  int64 `json:"published"` // unix nanoseconds, just before Publish
	Done       int64 `json:"done"`      // unix nanoseconds, every outcome recorded
	// UserNS and SysNS are the CPU time the process used from just before
	// Publish to Done; -1 where the system does not tell.
	UserNS int64 `json:"user_ns"`
	SysNS  int64 `json:"sys_ns"`
	// PeakRSS is the process's peak resident set size since it started, in
	// bytes; -1 where the system does not tell.
	PeakRSS int64 `json:"peak_rss"`
}

// RunChild is the measured half of the rows that need a process of their
// own. It builds crier from dir/crier.yaml on dir/data, as the parent
// prepared them, starts the workers, publishes the email rows' notice to
// every town, waits until every delivery is sent and recorded, and writes
// a ChildReport as JSON to w.
func RunChild(ctx context.Context, build Builder, dir string, w io.Writer) error {
	app, err := build(ctx, filepath.Join(dir, "crier.yaml"), dataDir(dir))
	if err != nil {
		return err
	}
	defer app.Close()
	fin := watch(app.Workers)
	stop := runWorkers(ctx, app.Workers)
	rep, err := fanOut(ctx, app, fin)
	if err = errors.Join(err, stop()); err != nil {
		return err
	}
	if rep.PeakRSS, err = peakRSS(); errors.Is(err, errUnsupported) {
		rep.PeakRSS = -1
	} else if err != nil {
		return err
	}
	return json.NewEncoder(w).Encode(rep)
}

// fanOut publishes and measures until every delivery is final.
func fanOut(ctx context.Context, app *App, fin *finals) (*ChildReport, error) {
	before, cpuErr := processCPU()
	rep := &ChildReport{Published: time.Now().UnixNano()}
	p, err := app.Engine.Publish(ctx, mailNotice(), "")
	if err != nil {
		return nil, err
	}
	rep.Deliveries = p.Deliveries
	fin.expect(p.Deliveries)
	if err := fin.wait(ctx, app.Store, sendWithin(p.Deliveries)); err != nil {
		return nil, err
	}
	rep.Done = time.Now().UnixNano()
	after, err := processCPU()
	switch {
	case errors.Is(cpuErr, errUnsupported) || errors.Is(err, errUnsupported):
		rep.UserNS, rep.SysNS = -1, -1
	case cpuErr != nil || err != nil:
		return nil, errors.Join(cpuErr, err)
	default:
		d := after.sub(before)
		rep.UserNS, rep.SysNS = int64(d.user), int64(d.sys)
	}
	return rep, allSent(ctx, app.Store, p.Announcement.ID, p.Deliveries)
}

// child prepares a crier for Soest whose n subscribers get their mail
// from the sink, runs "crier bench --row name --child DIR" on it, and
// returns the child's report and the sink's count of its mails.
func (r *runner) child(ctx context.Context, name string, sink *mailSink, n int) (*ChildReport, *counter, error) {
	if r.opts.Executable == "" {
		return nil, nil, errors.New("no crier executable to run the measured process")
	}
	dir := filepath.Join(r.dir, "child")
	if err := r.prefill(ctx, dir, sink.Port(), n, false); err != nil {
		return nil, nil, err
	}
	count := sink.expect(n)
	var stdout, stderr bytes.Buffer
	args := []string{"bench", "--row", name, "--child", dir}
	if r.opts.CPUProfile != "" {
		args = append(args, "--cpuprofile", r.opts.CPUProfile+"-"+name)
	}
	cmd := exec.CommandContext(ctx, r.opts.Executable, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, nil, fmt.Errorf("crier bench --child: %w: %s", err, lastLines(stderr.String(), 5))
	}
	var rep ChildReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return nil, nil, fmt.Errorf("crier bench --child printed %q: %w", lastLines(stdout.String(), 3), err)
	}
	if rep.Deliveries != n {
		return nil, nil, fmt.Errorf("the child published %d deliveries, want %d", rep.Deliveries, n)
	}
	// The child saw every outcome recorded, so the sink has every mail.
	if err := count.wait(ctx, 10*time.Second); err != nil {
		return nil, nil, fmt.Errorf("sink: %w", err)
	}
	return &rep, count, nil
}

// prefill writes a configuration for Soest's list at the relay on port
// into dir and gives the list n subscribers; with publish it also
// publishes the email rows' notice, whose n deliveries then wait in the
// queue. Nothing is sent.
func (r *runner) prefill(ctx context.Context, dir string, port, n int, publish bool) error {
	tmpl := filepath.Join(dir, "templates")
	if err := writeMailTemplates(tmpl); err != nil {
		return err
	}
	app, err := r.build(ctx, dir, mailConfig(port, r.opts.Sizes.Connections, tmpl, r.opts.Prefetch))
	if err != nil {
		return err
	}
	err = subscribe(ctx, app.Store, soest().id, n)
	if err == nil && publish {
		var p *crier.PublishResult
		p, err = app.Engine.Publish(ctx, mailNotice(), "")
		if err == nil && p.Deliveries != n {
			err = fmt.Errorf("prefill: %d deliveries queued, want %d", p.Deliveries, n)
		}
	}
	return errors.Join(err, app.Close())
}

// lastLines returns the last n lines of s, joined by " | ".
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}
