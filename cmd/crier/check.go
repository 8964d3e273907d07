package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/email"
	"github.com/crierhq/crier/locale"
	"github.com/crierhq/crier/netpath"
)

// Defaults of "crier check".
const (
	// defaultCheckTimeout bounds the whole check.
	defaultCheckTimeout = 10 * time.Second
	// defaultEndpointTimeout bounds each endpoint's probe or path check,
	// so that one hanging endpoint is reported as such, not as the whole
	// check running out of time.
	defaultEndpointTimeout = 3 * time.Second
)

// checkHelp explains the exit codes of "crier check -h".
const checkHelp = `
Exit codes:
  0  every channel runs on its primary endpoint
  3  some channel can be reached only through a secondary endpoint
  1  some channel cannot be reached at all
  2  the configuration or the command line is wrong
`

// check validates the configuration, checks every endpoint over its own
// network in parallel, each within its own timeout, and reports per
// endpoint and then per channel whether the channel runs on its primary
// endpoint, only on a secondary one, or not at all. A channel shared by
// several towns is listed once, with its towns. It needs no running
// server.
//
// An endpoint with a probe (crier.Prober) is probed; one without (a
// webhook without probe_url, a Slack incoming webhook) has its path
// checked when its adapter names its address: the name is resolved and
// a connection opened over its network, and nothing is sent. Such an
// endpoint counts as up when its path works, and the output says that
// the receiver was not verified.
//
// It fails with exit code exitFailure when some channel has no endpoint
// up, and exitSecondary when every channel has one but some not its
// first.
func (m *Main) check(ctx context.Context, args []string) error {
	fs := m.flags("check")
	configFlag := fs.String("config", "", "configuration file (default $CRIER_CONFIG, ./crier.yaml or ./config.example.yaml)")
	timeout := fs.Duration("timeout", defaultCheckTimeout, "bound for the whole check")
	dataDir := fs.String("data-dir", "", "data directory of a running server whose view (endpoints found gone) the check adds (overrides data_dir in the configuration)")
	epTimeout := fs.Duration("endpoint-timeout", defaultEndpointTimeout, "bound for each endpoint's probe or path check; an endpoint that has not answered by then is reported as not answering")
	fs.Usage = func() {
		printHelp(fs.Output(), "check", fs)
		fmt.Fprint(fs.Output(), checkHelp)
	}
	if _, err := parse(fs, args); err != nil {
		return flagError(err)
	}
	if *timeout <= 0 || *epTimeout <= 0 {
		return usageError("--timeout and --endpoint-timeout must be positive")
	}
	cfg, err := m.loadConfig(m.configPath(*configFlag), nil)
	if err != nil {
		return err
	}
	cfg.override(*dataDir, "")
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(m.Stdout, m.t("check.warning", w))
	}
	a, err := m.buildPreview(cfg, m.newLogger(&Config{Log: LogConfig{Level: "error"}}, false))
	if err != nil {
		return err
	}
	defer a.Close()

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	checks := a.checkAll(ctx, *epTimeout)
	m.addServed(ctx, &remote{config: m.configPath(*configFlag), dataDir: *dataDir}, checks)

	c := checker{m: m, cfg: cfg, endpointTimeout: *epTimeout, timeout: *timeout}
	c.printEndpoints(checks)
	fmt.Fprintln(m.Stdout)
	return c.printChannels(checks)
}

// endpointCheck is what "crier check" found out about one endpoint.
type endpointCheck struct {
	netpath.ProbeResult
	// PathOnly: the endpoint offers no probe, and its path was checked
	// instead; OK then says that the path works, not the receiver.
	PathOnly bool
	// Addr is the address whose path was checked.
	Addr string
	// Expired: the endpoint's own timeout passed before the check of it
	// ended. Outer: the whole check's timeout did.
	Expired, Outer bool
	// Gone is when a running server found the endpoint gone (HTTP 410):
	// it takes no sends there until a person resets it, whatever the
	// check found, so it is not up.
	Gone time.Time
}

// up reports whether the endpoint can carry the channel as far as the
// check could tell.
func (e endpointCheck) up() bool { return e.OK && e.Gone.IsZero() }

// addServed adds what a running server knows and a probe cannot see: an
// endpoint found gone (HTTP 410) stays so until a person resets it. It
// asks the server the other commands would ask ($CRIER_SERVER, or the
// address and token in the data directory), for at most a second, and
// adds nothing when none answers.
func (m *Main) addServed(ctx context.Context, r *remote, checks map[string][]endpointCheck) {
	c, err := m.client(r)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	list, err := c.Endpoints(ctx)
	if err != nil {
		return
	}
	for _, h := range list {
		if h.State != netpath.StateGone {
			continue
		}
		for i := range checks[h.Channel] {
			if checks[h.Channel][i].Endpoint == h.Endpoint {
				checks[h.Channel][i].Gone = h.GoneSince
			}
		}
	}
}

// addresser is an adapter that names the host and port it connects to:
// one without a probe, whose path can be checked instead.
type addresser interface{ Addr() string }

// checkAll checks every channel's endpoints in parallel, each endpoint
// within perEndpoint, and returns the results by channel id, in endpoint
// order.
func (a *app) checkAll(ctx context.Context, perEndpoint time.Duration) map[string][]endpointCheck {
	out := make(map[string][]endpointCheck, len(a.chains))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for id, info := range a.channels {
		chain, ok := info.Channel.(*netpath.Chain)
		if !ok {
			continue
		}
		wg.Go(func() {
			rs := a.checkChain(ctx, chain, perEndpoint)
			mu.Lock()
			out[id] = rs
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// checkChain probes chain's endpoints, each bounded by perEndpoint (the
// chain probes them side by side), and then checks the path of those that
// offer no probe.
func (a *app) checkChain(ctx context.Context, chain *netpath.Chain, perEndpoint time.Duration) []endpointCheck {
	pctx, cancel := context.WithTimeout(ctx, perEndpoint)
	rs := chain.Probe(pctx)
	outer, expired := ctx.Err() != nil, errors.Is(pctx.Err(), context.DeadlineExceeded)
	cancel()
	eps := chain.Endpoints()
	out := make([]endpointCheck, len(rs))
	var wg sync.WaitGroup
	for i, r := range rs {
		out[i] = endpointCheck{ProbeResult: r, Outer: outer, Expired: expired && !outer}
		if !r.Skipped || i >= len(eps) {
			continue
		}
		ad, ok := eps[i].Channel.(addresser)
		n := a.networks[eps[i].Network]
		if !ok || ad.Addr() == "" || n == nil {
			continue
		}
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, perEndpoint)
			defer cancel()
			e := &out[i]
			e.PathOnly, e.Skipped, e.Addr = true, false, ad.Addr()
			start := a.clock.Now()
			err := n.CheckPath(pctx, e.Addr)
			e.Latency = a.clock.Now().Sub(start)
			e.OK, e.Err = err == nil, err
			e.Outer = ctx.Err() != nil
			e.Expired = !e.Outer && errors.Is(pctx.Err(), context.DeadlineExceeded)
		})
	}
	wg.Wait()
	return out
}

// checker prints what "crier check" found.
type checker struct {
	m               *Main
	cfg             *Config
	endpointTimeout time.Duration
	timeout         time.Duration
}

// printEndpoints prints one row per endpoint of every channel, in the
// configuration's order.
func (c *checker) printEndpoints(checks map[string][]endpointCheck) {
	m := c.m
	tw := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.t("cli.channel"), m.t("check.endpoint"),
		m.t("check.network"), m.t("cli.state"), m.t("check.latency"), m.t("check.cause"))
	for _, cc := range c.cfg.Channels {
		for i, r := range checks[cc.ID] {
			latency := ""
			if !r.Skipped {
				latency = fmt.Sprintf("%d ms", r.Latency.Milliseconds())
			}
			detail := c.cause(r)
			if i < len(cc.Endpoints) {
				if trust := c.trust(cc.Endpoints[i]); trust != "" {
					detail = strings.TrimPrefix(detail+"; "+trust, "; ")
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", cc.ID, r.Endpoint, r.Network, c.state(r), latency, detail)
		}
	}
	tw.Flush()
}

// printChannels prints one line per channel, with the towns that use it,
// then the verdict, and returns the failure that carries the exit code.
func (c *checker) printChannels(checks map[string][]endpointCheck) error {
	m := c.m
	towns := map[string][]string{}
	for _, t := range c.cfg.Towns {
		for _, ch := range t.Channels {
			if !slices.Contains(towns[ch], t.ID) {
				towns[ch] = append(towns[ch], t.ID)
			}
		}
	}
	var down, secondary []string
	pathOnly := 0
	tw := tabwriter.NewWriter(m.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t%s\t%s\n", m.t("cli.channel"), m.t("check.summary"), m.t("check.towns"))
	for _, cc := range c.cfg.Channels {
		rs := checks[cc.ID]
		i := slices.IndexFunc(rs, endpointCheck.up)
		var line string
		switch {
		case i < 0:
			down = append(down, cc.ID)
			line = m.t("check.channel_down")
		case i == 0:
			line = m.t("check.channel_primary", rs[0].Endpoint, rs[0].Network)
		case rs[i].Network != rs[0].Network:
			secondary = append(secondary, cc.ID)
			line = m.t("check.channel_secondary_network", rs[i].Network, rs[i].Endpoint)
		default:
			secondary = append(secondary, cc.ID)
			line = m.t("check.channel_secondary", rs[i].Endpoint, rs[i].Network)
		}
		if i >= 0 && rs[i].PathOnly {
			pathOnly++
			line += m.t("check.channel_path_only")
		}
		ts := strings.Join(towns[cc.ID], ", ")
		if ts == "" {
			ts = "–"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", cc.ID, line, ts)
	}
	tw.Flush()

	total := len(c.cfg.Channels)
	if len(down) > 0 {
		fmt.Fprintln(m.Stdout, m.t("check.verdict_down", len(down), total, strings.Join(down, ", ")))
	}
	if len(secondary) > 0 {
		fmt.Fprintln(m.Stdout, m.t("check.verdict_secondary", len(secondary), total, strings.Join(secondary, ", ")))
	}
	if len(down) == 0 && len(secondary) == 0 {
		fmt.Fprintln(m.Stdout, m.t("check.verdict_ok", total))
	}
	if pathOnly > 0 {
		fmt.Fprintln(m.Stdout, locale.N(m.lang(), "check.verdict_path_only", pathOnly))
	}
	switch {
	case len(down) > 0:
		return &failure{exitFailure}
	case len(secondary) > 0:
		return &failure{exitSecondary}
	}
	return nil
}

// state names an endpoint's result for people.
func (c *checker) state(r endpointCheck) string {
	m := c.m
	switch {
	case !r.Gone.IsZero():
		return m.t("endpoints.gone")
	case r.OK && r.PathOnly:
		return m.t("check.path_reachable")
	case r.OK:
		return m.t("check.reachable")
	case r.Skipped:
		return m.t("check.skipped")
	case crier.ErrorCode(r.Err) == crier.EPERMANENT:
		return m.t("check.refused")
	}
	return m.t("check.unreachable_state")
}

// cause says why an endpoint is not up, naming the real cause where it
// can be told: no answer within the endpoint's timeout, a refused
// connection with its address, a name that could not be resolved. Other
// errors are given as the adapter worded them.
// trust says what an email endpoint trusts besides the system's roots:
// its ca_file or its pinned key.
func (c *checker) trust(ep EndpointConfig) string {
	switch {
	case ep.CAFile != "":
		return c.m.t("check.ca_file", ep.CAFile)
	case ep.TLSPinSHA256 != "":
		pin, err := email.ParsePin(ep.TLSPinSHA256)
		if err != nil {
			pin = ep.TLSPinSHA256
		}
		return c.m.t("check.tls_pin", pin)
	}
	return ""
}

func (c *checker) cause(r endpointCheck) string {
	m := c.m
	switch {
	case !r.Gone.IsZero():
		return m.t("check.gone", r.Gone.Local().Format(time.DateTime))
	case r.OK && r.PathOnly:
		return m.t("check.receiver_unverified", r.Addr)
	case r.Skipped:
		return m.t("check.no_probe")
	case r.Err == nil:
		return ""
	}
	err := r.Err
	var (
		de *net.DNSError
		oe *net.OpError
	)
	var ce *email.CertificateError
	switch {
	case errors.As(err, &ce):
		return m.t("check.untrusted_certificate", ce.Host, cmp.Or(ce.Pin, "?"))
	case errors.As(err, &de):
		server := de.Server
		if server == "" {
			server = m.t("check.system_resolver")
		}
		return m.t("check.dns_failed", de.Name, server, de.Err)
	case isTimeout(err) && r.Outer:
		return m.t("check.ended", seconds(c.timeout, m.lang()))
	case isTimeout(err) && r.Expired:
		return m.t("check.no_answer", seconds(c.endpointTimeout, m.lang()))
	case isTimeout(err) && r.Latency >= 100*time.Millisecond:
		// An earlier bound of the endpoint's network or adapter, such as
		// the network's dial timeout.
		return m.t("check.no_answer", seconds(r.Latency.Round(100*time.Millisecond), m.lang()))
	case errors.Is(err, syscall.ECONNREFUSED) && dialError(err, &oe):
		if viaProxy(err) {
			return m.t("check.proxy_refused", oe.Addr)
		}
		return m.t("check.conn_refused", oe.Addr)
	case dialError(err, &oe):
		what := oe.Err.Error()
		if viaProxy(err) {
			return m.t("check.proxy_failed", oe.Addr, what)
		}
		return m.t("check.conn_failed", oe.Addr, what)
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// isTimeout reports whether err says that something did not answer in
// time: a deadline that passed, or a network timeout.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// dialError finds the innermost failed connection attempt in err's chain:
// with a proxy, the connection to the proxy, not the tunnel through it.
func dialError(err error, target **net.OpError) bool {
	found := false
	for {
		var oe *net.OpError
		if !errors.As(err, &oe) {
			return found
		}
		if oe.Op == "dial" && oe.Addr != nil {
			*target, found = oe, true
		}
		err = oe.Err
	}
}

// viaProxy reports whether err is a failure to reach a network's proxy.
func viaProxy(err error) bool {
	var oe *net.OpError
	if errors.As(err, &oe) && (oe.Op == "socks connect" || oe.Op == "proxyconnect") {
		return true
	}
	return strings.Contains(err.Error(), "connect to proxy")
}

// seconds writes d for people: "3 s", "250 ms", "1,5 s" in German.
func seconds(d time.Duration, lang string) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d%time.Second == 0:
		return fmt.Sprintf("%d s", d/time.Second)
	}
	s := strconv.FormatFloat(d.Seconds(), 'f', 1, 64)
	if locale.Match(lang) == "de" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + " s"
}
