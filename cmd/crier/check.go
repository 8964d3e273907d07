package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/netpath"
)

// check validates the configuration, probes every endpoint over its own
// network in parallel, and prints one row per town, channel and endpoint.
// It needs no running server. It fails when some town has no reachable
// endpoint for one of its channels.
func (m *Main) check(ctx context.Context, args []string) error {
	fs := m.flags("check")
	configFlag := fs.String("config", "", "configuration file (default $CRIER_CONFIG, ./crier.yaml or ./config.example.yaml)")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for each endpoint")
	if _, err := parse(fs, args); err != nil {
		return flagError(err)
	}
	cfg, err := m.loadConfig(m.configPath(*configFlag), nil)
	if err != nil {
		return err
	}
	a, err := m.buildPreview(cfg, m.newLogger(&Config{Log: LogConfig{Level: "error"}}, false))
	if err != nil {
		return err
	}
	defer a.Close()

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	results := a.probeAll(ctx)

	tw := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.t("cli.town"), m.t("cli.channel"), m.t("check.endpoint"),
		m.t("check.network"), m.t("cli.state"), m.t("check.latency"), m.t("check.error"))
	var cut []string
	for _, t := range cfg.Towns {
		for _, chID := range t.Channels {
			reachable := false
			for _, r := range results[chID] {
				state := m.probeState(r)
				// An endpoint that offers no probe (a webhook without
				// probe_url) is not proven unreachable: it is listed, and
				// does not fail the check.
				reachable = reachable || r.OK || r.Skipped
				latency := ""
				if r.OK || r.Err != nil {
					latency = fmt.Sprintf("%d ms", r.Latency.Milliseconds())
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, chID, r.Endpoint, r.Network, state, latency, probeError(r))
			}
			if !reachable {
				cut = append(cut, t.ID+" ("+chID+")")
			}
		}
	}
	tw.Flush()
	if len(cut) > 0 {
		fmt.Fprintln(m.Stdout, m.t("check.unreachable", len(cut), strings.Join(cut, ", ")))
		return &failure{exitFailure}
	}
	fmt.Fprintln(m.Stdout, m.t("check.ok", len(cfg.Towns)))
	return nil
}

// probeAll probes every channel's endpoints in parallel and returns the
// results by channel id, in endpoint order.
func (a *app) probeAll(ctx context.Context) map[string][]netpath.ProbeResult {
	out := make(map[string][]netpath.ProbeResult, len(a.chains))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for id, info := range a.channels {
		chain, ok := info.Channel.(*netpath.Chain)
		if !ok {
			continue
		}
		wg.Go(func() {
			rs := chain.Probe(ctx)
			mu.Lock()
			out[id] = rs
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// probeState names a probe's result for people.
func (m *Main) probeState(r netpath.ProbeResult) string {
	switch {
	case r.OK:
		return m.t("check.reachable")
	case r.Skipped:
		return m.t("check.skipped")
	case crier.ErrorCode(r.Err) == crier.EPERMANENT:
		return m.t("check.refused")
	}
	return m.t("check.unreachable_state")
}

func probeError(r netpath.ProbeResult) string {
	if r.Err == nil || r.Skipped {
		return ""
	}
	msg := strings.ReplaceAll(r.Err.Error(), "\n", " ")
	return msg
}
