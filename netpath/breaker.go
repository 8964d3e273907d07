package netpath

import (
	"sync"
	"time"

	"github.com/crierhq/crier"
)

// State is the state of an endpoint's circuit breaker.
type State string

// Breaker states.
const (
	// StateClosed: the endpoint is healthy and carries traffic.
	StateClosed State = "closed"
	// StateOpen: the endpoint failed repeatedly; sends skip it until its
	// cool-down ends.
	StateOpen State = "open"
	// StateHalfOpen: the cool-down is over; the next send is let through as
	// a trial, and sends that come while it is under way skip the endpoint.
	StateHalfOpen State = "half-open"
	// StateGone is not a breaker state: it is reported (EndpointHealth,
	// ChainOptions.OnChange) for an endpoint that answered that it no
	// longer exists, whatever its breaker says, until a person clears it.
	StateGone State = "gone"
)

// Breaker defaults.
const (
	DefaultFailures = 3
	DefaultCoolDown = 30 * time.Second
)

// BreakerOptions configure the circuit breaker of every endpoint of a chain.
type BreakerOptions struct {
	// Failures is the number of consecutive failures (transient errors and
	// unknown outcomes) that open the breaker. Default DefaultFailures.
	Failures int
	// CoolDown is how long an open breaker stays open before it lets one
	// trial through. Default DefaultCoolDown.
	CoolDown time.Duration
}

func (o BreakerOptions) withDefaults() BreakerOptions {
	if o.Failures <= 0 {
		o.Failures = DefaultFailures
	}
	if o.CoolDown <= 0 {
		o.CoolDown = DefaultCoolDown
	}
	return o
}

// verdict is what one send or probe says about an endpoint's reachability.
type verdict int

const (
	// answered: the endpoint delivered, or refused with a definite answer.
	answered verdict = iota
	// failed: the endpoint could not be reached (transient error) or did
	// not answer in time (unknown outcome).
	failed
	// neutral: the caller gave up (canceled context); it says nothing
	// about the endpoint.
	neutral
)

// result is the outcome of one send or probe, for the breaker.
type result struct {
	verdict    verdict
	err        error         // with failed
	retryAfter time.Duration // with failed: the endpoint asked to be left alone this long
	latency    time.Duration // with answered
	probe      bool          // from Probe, not from a send
	// hard, with failed: the endpoint did not answer in time. A hung
	// endpoint holds a send slot for the whole timeout, so one such
	// failure opens the breaker at once instead of after Failures.
	hard   bool
	ticket ticket // from admit; zero for probes
}

// ticket is a send's admission: whether it is the half-open trial, and in
// which period of the breaker it was admitted.
type ticket struct {
	trial bool
	gen   uint64
}

// transition is one change of a breaker's state.
type transition struct {
	from, to State
	at       time.Time
	failures int
	until    time.Time // with to == StateOpen: when the cool-down ends
	err      string    // the last failure
}

// breaker is the circuit breaker of one endpoint. It is safe for
// concurrent use. State changes are reported to notify, which runs with the
// breaker locked so that changes are reported in the order they happen.
type breaker struct {
	opts   BreakerOptions
	clock  crier.Clock
	notify func(transition)

	mu         sync.Mutex
	state      State
	gen        uint64 // incremented at every state change
	failures   int    // consecutive
	openUntil  time.Time
	restUntil  time.Time // the endpoint asked not to be sent to before this (Retry-After)
	trial      bool      // the half-open trial is under way
	lastErr    string
	lastChange time.Time
	lastProbe  time.Time
	latency    time.Duration
}

func newBreaker(o BreakerOptions, clock crier.Clock, notify func(transition)) *breaker {
	return &breaker{opts: o.withDefaults(), clock: clock, notify: notify, state: StateClosed}
}

// admit decides whether a send may go to the endpoint now. It returns the
// send's ticket, or a reason why the endpoint is skipped.
func (b *breaker) admit() (ticket, string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	b.advance(now)
	switch b.state {
	case StateOpen:
		return ticket{}, "circuit open for another " + roundWait(b.openUntil.Sub(now))
	case StateHalfOpen:
		if b.trial {
			return ticket{}, "circuit half-open, a trial send is under way"
		}
		b.trial = true
		return ticket{trial: true, gen: b.gen}, ""
	}
	if now.Before(b.restUntil) {
		return ticket{}, "asked to be left alone for another " + roundWait(b.restUntil.Sub(now))
	}
	return ticket{gen: b.gen}, ""
}

// record feeds the outcome of a send or probe into the breaker.
//
// An answer closes the breaker and resets the failure count. A failure
// counts: a closed breaker opens at the Failures-th consecutive one; a
// half-open or open breaker opens (again) for a full cool-down. A neutral
// result only ends the trial it was.
func (b *breaker) record(r result) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	b.advance(now)
	if r.ticket.trial && r.ticket.gen == b.gen {
		b.trial = false
	}
	if r.probe && r.verdict != neutral {
		b.lastProbe = now
	}
	switch r.verdict {
	case answered:
		b.latency = r.latency
		b.failures = 0
		b.set(StateClosed, now)
	case failed:
		b.failures++
		b.lastErr = errText(r.err)
		if r.retryAfter > 0 {
			b.restUntil = later(b.restUntil, now.Add(r.retryAfter))
		}
		if b.state != StateClosed || b.failures >= b.opts.Failures || r.hard {
			b.open(now)
		}
	}
}

// reset closes the breaker and forgets its failures and any wait the
// endpoint asked for: a person says the endpoint is fine. It reports
// whether the breaker was not closed and clear before.
func (b *breaker) reset() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	changed := b.state != StateClosed || b.failures > 0 || now.Before(b.restUntil)
	b.failures = 0
	b.restUntil = time.Time{}
	b.set(StateClosed, now)
	return changed
}

// wait returns how long from now until the endpoint will admit a send:
// zero when it does now or when a trial is under way, which will decide
// soon.
func (b *breaker) wait() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	b.advance(now)
	switch b.state {
	case StateOpen:
		return b.openUntil.Sub(now)
	case StateHalfOpen:
		return 0
	}
	return max(b.restUntil.Sub(now), 0)
}

// snapshot returns the breaker's state as EndpointHealth fields.
func (b *breaker) snapshot(h *EndpointHealth) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	b.advance(now)
	h.State = b.state
	h.Failures = b.failures
	h.LastError = b.lastErr
	h.LastChange = b.lastChange
	h.LastProbe = b.lastProbe
	h.Latency = b.latency
	switch {
	case b.state == StateOpen:
		h.Until = b.openUntil
	case b.state == StateClosed && now.Before(b.restUntil):
		h.Until = b.restUntil
	}
}

// advance half-opens an open breaker whose cool-down is over.
func (b *breaker) advance(now time.Time) {
	if b.state == StateOpen && !now.Before(b.openUntil) {
		b.set(StateHalfOpen, now)
	}
}

// open opens the breaker for a cool-down from now, or for as long as the
// endpoint asked to be left alone, whichever is longer.
func (b *breaker) open(now time.Time) {
	b.openUntil = later(now.Add(b.opts.CoolDown), b.restUntil)
	b.set(StateOpen, now)
}

// set changes the state and reports the change; setting the current state
// changes nothing.
func (b *breaker) set(to State, now time.Time) {
	if b.state == to {
		return
	}
	t := transition{from: b.state, to: to, at: now, failures: b.failures, err: b.lastErr}
	if to == StateOpen {
		t.until = b.openUntil
	}
	b.state = to
	b.gen++
	b.trial = false
	b.lastChange = now
	if b.notify != nil {
		b.notify(t)
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// roundWait formats a wait for people: whole seconds from one second on.
func roundWait(d time.Duration) string {
	if d >= time.Second {
		d = d.Round(time.Second)
	}
	return d.String()
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
