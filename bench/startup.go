package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func startupRow() row {
	return row{
		name: "startup", title: "startup",
		what: "crier serve started on an existing data directory whose deliveries wait in the queue → /readyz answers 200",
		size: func(s Sizes) string {
			return fmt.Sprintf("%s queued deliveries", num(float64(s.Deliveries)))
		},
		targets: []Target{{Metric: "seconds", Op: "<", Limit: 1, Unit: "s", Label: "< 1 s"}},
		run:     runStartup,
	}
}

// runStartup fills a data directory with Deliveries queued mails, starts
// "crier serve" on it and times it from the start of the process until
// /readyz answers 200. The mails go to a sink here once the workers run.
func runStartup(ctx context.Context, r *runner, res *Result) error {
	if r.opts.Executable == "" {
		return errors.New("no crier executable to start")
	}
	sink := startSink(r.fakes)
	dir := filepath.Join(r.dir, "crier")
	if err := r.prefill(ctx, dir, sink.Port(), r.opts.Sizes.Deliveries, true); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, r.opts.Executable, "serve", "--config", filepath.Join(dir, "crier.yaml"),
		"--data-dir", dataDir(dir), "--listen", "127.0.0.1:0", "--log-json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	urls := make(chan string, 1)
	logged := make(chan string, 1) // the last lines, once the log ended
	read := make(chan struct{})
	defer stopServe(cmd, read)
	go func() {
		defer close(read)
		var tail []string
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			tail = append(tail[max(0, len(tail)-4):], sc.Text())
			var line struct{ Msg, URL string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "crier is serving" {
				urls <- line.URL
			}
		}
		io.Copy(io.Discard, stderr)
		logged <- strings.Join(tail, " | ")
	}()

	var url string
	select {
	case url = <-urls:
	case tail := <-logged:
		return fmt.Errorf("crier serve ended before it listened: %s", tail)
	case <-time.After(time.Minute):
		return errors.New("crier serve did not listen within a minute")
	}
	listening := time.Since(start)
	ready, err := waitReady(ctx, url, start.Add(time.Minute))
	if err != nil {
		return err
	}
	took := ready.Sub(start)
	res.add("seconds", took.Seconds(), "s")
	res.add("listening", listening.Seconds(), "s")
	res.Summary = fmt.Sprintf("%s s (listening after %s s)", num(took.Seconds()), num(listening.Seconds()))
	return nil
}

// waitReady asks url's /readyz until it answers 200 and returns when it
// did.
func waitReady(ctx context.Context, url string, deadline time.Time) (time.Time, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	last := "no answer"
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/readyz", nil)
		if err != nil {
			return time.Time{}, err
		}
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return time.Time{}, fmt.Errorf("/readyz not ready within a minute: %s", last)
}

// stopServe stops crier serve as an operator would, kills it when it
// has not stopped within half a minute, and waits for it once its log
// has been read.
func stopServe(cmd *exec.Cmd, read <-chan struct{}) {
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		cmd.Process.Kill()
	}
	select {
	case <-read:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-read
	}
	cmd.Wait()
}
