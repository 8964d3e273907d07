package netpath

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/crierhq/crier"
)

// EndpointHealth is what a chain knows about one endpoint.
type EndpointHealth struct {
	Channel  string `json:"channel"`
	Endpoint string `json:"endpoint"`
	Network  string `json:"network"`
	State    State  `json:"state"`
	// Failures counts the consecutive failures of sends and probes.
	Failures int `json:"failures"`
	// LastError is the last failure's text, kept after recovery.
	LastError string `json:"last_error,omitempty"`
	// LastChange is when the breaker last changed state; zero if never.
	LastChange time.Time `json:"last_change,omitzero"`
	// LastProbe is when a probe last ended; zero if never.
	LastProbe time.Time `json:"last_probe,omitzero"`
	// Latency is how long the last answered send or probe took (JSON:
	// nanoseconds).
	Latency time.Duration `json:"latency"`
	// Until is when an open breaker lets a trial through, or when an
	// endpoint that asked to be left alone (Retry-After) takes sends again;
	// zero when neither applies.
	Until time.Time `json:"until,omitzero"`
	// GoneSince is when the endpoint answered that it no longer exists
	// (HTTP 410); State is then StateGone until a person clears it.
	GoneSince time.Time `json:"gone_since,omitzero"`
	// Refused is why the endpoint's last probe was refused (a revoked
	// token); sends skip it until a probe or a person clears it.
	Refused string `json:"refused,omitempty"`
	// InFlight is the number of sends under way to the endpoint's target
	// (of every channel that shares it); Slots bounds them, 0: no bound.
	InFlight int `json:"in_flight"`
	Slots    int `json:"slots,omitempty"`
	// Pinned is the number of deliveries still to be sent that may have
	// arrived through this endpoint and so wait for it (or for an endpoint
	// that reaches the same receiver); filled in by whoever knows the
	// queue.
	Pinned int `json:"pinned"`
}

// Health returns the health of every endpoint, in endpoint order. An open
// breaker whose cool-down is over is reported, and changed, as half-open.
func (c *Chain) Health() []EndpointHealth {
	out := make([]EndpointHealth, len(c.eps))
	for i, ep := range c.eps {
		h := EndpointHealth{Channel: c.id, Endpoint: ep.Name, Network: ep.Network}
		ep.b.snapshot(&h)
		if since, why := ep.t.goneSince(); !since.IsZero() {
			h.State, h.GoneSince, h.LastError = StateGone, since, why
		}
		ep.mu.Lock()
		h.Refused = ep.refused
		ep.mu.Unlock()
		h.InFlight, h.Slots = int(ep.t.inflight.Load()), ep.t.slots
		out[i] = h
	}
	return out
}

// ProbeResult is the outcome of probing one endpoint.
type ProbeResult struct {
	Endpoint string
	Network  string
	// OK: the endpoint answered the probe as it should.
	OK bool
	// Skipped: the endpoint's channel cannot be probed (it does not
	// implement crier.Prober, or returned crier.ErrNoProbe); its state is
	// unknown and its breaker unchanged.
	Skipped bool
	Latency time.Duration
	// Err is the probe's classified error when neither OK nor Skipped.
	Err error
}

// Probe probes every endpoint in parallel through its channel's
// crier.Prober and returns the results in endpoint order.
//
// Each result is fed into the endpoint's breaker: a successful probe
// closes it, whatever its state, resets its failures and releases what
// waited for it (OnRecover); a transient error counts as a failure and
// (re)opens a half-open or open breaker for a full cool-down, a timeout
// opens it at once. A permanent refusal (a revoked token) shows that the
// endpoint answers, but makes this chain's endpoint as useless as an
// unreachable one: sends skip it (EndpointHealth.Refused) until a probe
// passes or a person resets it; the breaker, which other chains reaching
// the same target may share, is not held responsible. A Gone refusal
// (crier.Error.Gone: an untrusted certificate) marks the endpoint gone, as
// a send does. A probe that ends
// because ctx was canceled changes nothing. Probe does not wait for a breaker to admit it:
// it is how an open endpoint is found to be back before its cool-down
// ends.
func (c *Chain) Probe(ctx context.Context) []ProbeResult {
	out := make([]ProbeResult, len(c.eps))
	var wg sync.WaitGroup
	for i, ep := range c.eps {
		wg.Go(func() { out[i] = c.probe(ctx, ep) })
	}
	wg.Wait()
	return out
}

func (c *Chain) probe(ctx context.Context, ep *endpoint) ProbeResult {
	res := ProbeResult{Endpoint: ep.Name, Network: ep.Network}
	p, ok := ep.Channel.(crier.Prober)
	if !ok {
		res.Skipped = true
		return res
	}
	start := c.clock.Now()
	err := p.Probe(ctx)
	res.Latency = c.clock.Now().Sub(start)
	if errors.Is(err, crier.ErrNoProbe) {
		res.Skipped = true
		return res
	}
	res.OK, res.Err = err == nil, err
	r := result{probe: true, err: err, latency: res.Latency}
	var ce *crier.Error
	switch {
	case err == nil:
		r.verdict = answered
		ep.setRefused("")
	case errors.Is(ctx.Err(), context.Canceled), crier.IsDeferred(err):
		r.verdict = neutral
	case crier.IsGone(err):
		r.verdict = answered
		c.gone(ep, err)
	case crier.ErrorCode(err) == crier.EPERMANENT:
		r.verdict = answered
		ep.setRefused(err.Error())
	default:
		r.verdict = failed
		r.hard = timedOut(ctx, err)
		if errors.As(err, &ce) && ce.Code == crier.ETRANSIENT {
			r.retryAfter = ce.RetryAfter
		}
	}
	ep.b.record(r)
	return res
}

// DefaultProbeInterval is how often a Prober probes by default.
const DefaultProbeInterval = 30 * time.Second

// Prober probes the endpoints of chains in the background, so that an
// endpoint that fails is skipped before a send waits for it, and one that
// is back is used again before its cool-down ends.
type Prober struct {
	Chains []*Chain
	// Interval between rounds; default DefaultProbeInterval. It also bounds
	// each round.
	Interval time.Duration
	// Clock times the rounds for the log; default crier.SystemClock.
	Clock crier.Clock
	// Logger receives a debug record per round and per failed probe;
	// default: discard. Breaker changes are logged by the chains.
	Logger *slog.Logger
}

// Run probes every chain right away and then every Interval, until ctx is
// done; then it returns nil.
func (p *Prober) Run(ctx context.Context) error {
	if ctx.Err() != nil {
		return nil
	}
	p.ProbeOnce(ctx)
	t := time.NewTicker(p.interval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			p.ProbeOnce(ctx)
		}
	}
}

// ProbeOnce probes every endpoint of every chain in parallel, waits for
// all of them or for Interval to pass, and returns the results indexed
// like Chains, each in endpoint order.
func (p *Prober) ProbeOnce(ctx context.Context) [][]ProbeResult {
	ctx, cancel := context.WithTimeout(ctx, p.interval())
	defer cancel()
	clock := p.Clock
	if clock == nil {
		clock = crier.SystemClock{}
	}
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := clock.Now()
	out := make([][]ProbeResult, len(p.Chains))
	var wg sync.WaitGroup
	for i, c := range p.Chains {
		wg.Go(func() { out[i] = c.Probe(ctx) })
	}
	wg.Wait()
	failed := 0
	for i, rs := range out {
		for _, r := range rs {
			if !r.OK && !r.Skipped {
				failed++
				log.Debug("probe failed", "channel", p.Chains[i].id, "endpoint", r.Endpoint,
					"network", r.Network, "err", r.Err)
			}
		}
	}
	log.Debug("probe round done", "chains", len(p.Chains), "failed", failed, "took", clock.Now().Sub(start))
	return out
}

func (p *Prober) interval() time.Duration {
	if p.Interval <= 0 {
		return DefaultProbeInterval
	}
	return p.Interval
}
