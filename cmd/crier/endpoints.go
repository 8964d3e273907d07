package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crierhq/crier/netpath"
	"github.com/crierhq/crier/server"
)

const endpointsUsage = "usage: crier endpoints [reset CHANNEL ENDPOINT]"

// endpoints shows the running server's view of every channel endpoint, or
// clears what keeps one from taking sends:
//
//	crier endpoints                          breaker, gone, pinned deliveries, last error, latency
//	crier endpoints reset CHANNEL ENDPOINT   clear gone, a refused probe and an open breaker
//
// Unlike check, which probes from here, it asks the server what its
// sends and probes found.
func (m *Main) endpoints(ctx context.Context, args []string) error {
	fs := m.flags("endpoints")
	r := m.remoteFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return flagError(err)
	}
	switch {
	case len(pos) == 0:
	case len(pos) == 3 && pos[0] == "reset":
	default:
		return usageError(endpointsUsage)
	}
	cl, err := m.client(r)
	if err != nil {
		return err
	}
	var list []server.Endpoint
	if len(pos) == 3 {
		if list, err = cl.ResetEndpoint(ctx, pos[1], pos[2]); err != nil {
			return err
		}
		fmt.Fprintln(m.Stdout, m.t("endpoints.reset", pos[2], pos[1]))
	} else if list, err = cl.Endpoints(ctx); err != nil {
		return err
	}
	m.printEndpoints(list)
	return nil
}

// printEndpoints prints one row per endpoint.
func (m *Main) printEndpoints(list []server.Endpoint) {
	tw := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join([]string{m.t("cli.channel"), m.t("check.endpoint"), m.t("check.network"),
		m.t("cli.state"), m.t("endpoints.failures"), m.t("endpoints.pinned"), m.t("check.latency"),
		m.t("endpoints.since"), m.t("endpoints.last_error")}, "\t"))
	for _, h := range list {
		latency := ""
		if h.LatencyMS > 0 {
			latency = fmt.Sprintf("%.0f ms", h.LatencyMS)
		}
		since := ""
		switch {
		case !h.GoneSince.IsZero():
			since = h.GoneSince.Local().Format(time.DateTime)
		case !h.Until.IsZero():
			since = m.t("endpoints.until", h.Until.Local().Format(time.TimeOnly))
		}
		last := h.LastError
		if h.Refused != "" {
			last = h.Refused
		}
		fmt.Fprintln(tw, strings.Join([]string{h.Channel, h.Endpoint, h.Network, m.endpointState(h),
			strconv.Itoa(h.Failures), strconv.Itoa(h.Pinned), latency, since, strings.ReplaceAll(last, "\n", " ")}, "\t"))
	}
	tw.Flush()
}

// endpointState names an endpoint's state for people.
func (m *Main) endpointState(h server.Endpoint) string {
	switch {
	case h.State == netpath.StateGone:
		return m.t("endpoints.gone")
	case h.Refused != "":
		return m.t("check.refused")
	case h.State == netpath.StateOpen:
		return m.t("endpoints.open")
	case h.State == netpath.StateHalfOpen:
		return m.t("endpoints.half_open")
	}
	return m.t("endpoints.closed")
}
