package netpath

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crierhq/crier"
)

// Endpoint is one way to reach a channel.
type Endpoint struct {
	// Name labels the endpoint in receipts, logs, metrics and health, e.g.
	// "social.example" or "backup.example via lte". Unique within a chain.
	Name string
	// Network names the network the endpoint goes out on.
	Network string
	// Channel is the adapter that reaches the endpoint over that network.
	Channel crier.Channel
}

// ChainOptions configure a Chain.
type ChainOptions struct {
	// Channel is the channel's id, for health and callbacks. Required.
	Channel string
	// Endpoints are tried in this order. At least one is required.
	Endpoints []Endpoint
	// Breaker configures every endpoint's circuit breaker.
	Breaker BreakerOptions
	// Clock drives the breakers' cool-downs; default crier.SystemClock.
	Clock crier.Clock
	// Logger receives state changes and failovers, with the endpoint and
	// network as attributes (add the channel with Logger.With); default:
	// discard.
	Logger *slog.Logger
	// OnChange, when set, is called once per breaker state change (for
	// metrics). It runs while that endpoint's breaker is locked, so that
	// changes arrive in order; it must not call the Chain's methods.
	OnChange func(channel, endpoint, network string, from, to State)
	// OnFailover, when set, is called each time a send moves on to the
	// next endpoint after a failure that proved nothing was delivered.
	OnFailover func(channel, from, to string)
	// SharedKeys says that all endpoints reach receivers that share their
	// memory of message keys: the same webhook receiver over different
	// networks, the same Mastodon account. A message whose earlier attempt
	// may have arrived can then fail over like any other, because the
	// receiver drops the repeat whichever way it comes.
	SharedKeys bool
}

// Chain sends a channel's messages through its endpoints in order, each
// behind a circuit breaker, and fails over to the next endpoint within the
// same Send when a failure proves that nothing was delivered. It is safe
// for concurrent use.
type Chain struct {
	id         string
	eps        []*endpoint
	clock      crier.Clock
	log        *slog.Logger
	onFailover func(channel, from, to string)

	pinMu  sync.Mutex
	pins   map[string]pin // message key → endpoint of its last unknown outcome
	shared bool
}

// endpoint is an Endpoint with its breaker.
type endpoint struct {
	Endpoint
	index int
	b     *breaker
}

// pin remembers on which endpoint a message's send had an unknown outcome.
type pin struct {
	index int
	at    time.Time
}

// Pins are forgotten after pinTTL; the table is swept when it reaches
// pinSweep entries.
const (
	pinTTL   = 24 * time.Hour
	pinSweep = 1024
)

var (
	_ crier.Channel = (*Chain)(nil)
	_ crier.Checker = (*Chain)(nil)
	_ crier.Closer  = (*Chain)(nil)
	_ crier.Reviser = (*Chain)(nil)
)

// NewChain returns a chain over o.Endpoints, every breaker closed. It
// returns an error when the channel id is missing, there is no endpoint,
// or an endpoint has no name, a repeated name or no Channel.
func NewChain(o ChainOptions) (*Chain, error) {
	if o.Channel == "" {
		return nil, errors.New("netpath: chain: channel id is missing")
	}
	if len(o.Endpoints) == 0 {
		return nil, fmt.Errorf("netpath: chain %s: no endpoints", o.Channel)
	}
	c := &Chain{
		id:         o.Channel,
		clock:      o.Clock,
		log:        o.Logger,
		onFailover: o.OnFailover,
		shared:     o.SharedKeys,
		pins:       map[string]pin{},
	}
	if c.clock == nil {
		c.clock = crier.SystemClock{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	seen := map[string]bool{}
	for i, e := range o.Endpoints {
		switch {
		case e.Name == "":
			return nil, fmt.Errorf("netpath: chain %s: endpoint %d has no name", o.Channel, i)
		case seen[e.Name]:
			return nil, fmt.Errorf("netpath: chain %s: endpoint name %q is used twice", o.Channel, e.Name)
		case e.Channel == nil:
			return nil, fmt.Errorf("netpath: chain %s: endpoint %s has no channel", o.Channel, e.Name)
		}
		seen[e.Name] = true
		ep := &endpoint{Endpoint: e, index: i}
		ep.b = newBreaker(o.Breaker, c.clock, c.notifier(e, o.OnChange))
		c.eps = append(c.eps, ep)
	}
	return c, nil
}

// notifier returns the function that logs e's breaker changes and reports
// them to onChange.
func (c *Chain) notifier(e Endpoint, onChange func(channel, endpoint, network string, from, to State)) func(transition) {
	log := c.log.With("endpoint", e.Name, "network", e.Network)
	return func(t transition) {
		switch t.to {
		case StateOpen:
			log.Warn("endpoint failing; sends skip it", "failures", t.failures,
				"until", t.until, "err", t.err)
		case StateHalfOpen:
			log.Info("endpoint cool-down over; the next send tries it")
		case StateClosed:
			log.Info("endpoint answers again; sends use it", "from", t.from)
		}
		if onChange != nil {
			onChange(c.id, e.Name, e.Network, t.from, t.to)
		}
	}
}

// Endpoints returns the chain's endpoints in order.
func (c *Chain) Endpoints() []Endpoint {
	out := make([]Endpoint, len(c.eps))
	for i, ep := range c.eps {
		out[i] = ep.Endpoint
	}
	return out
}

// Send delivers m through the first endpoint whose breaker admits it and
// returns that endpoint's receipt, with Endpoint and Network filled in
// where the adapter left them empty.
//
// When an endpoint fails with a Transient error (nothing was delivered),
// Send records the failure and tries the next admitting endpoint. It does
// not fail over after an unknown outcome, a permanent refusal or an
// unclassified error: it returns that error as the adapter classified it,
// prefixed with the failures before it when there were any.
//
// A message whose earlier attempt had an unknown outcome (m.Ambiguous) is
// never failed over unless the endpoints share their keys (SharedKeys),
// because another receiver does not know its key: it
// goes only to the endpoint that may have it when the chain remembers that
// endpoint, and to the first admitting endpoint otherwise.
//
// When no endpoint delivered, Send returns a Transient error that names
// every endpoint with its reason. Its RetryAfter is the shortest wait
// until an endpoint admits a send again: per endpoint, the rest of its
// breaker's cool-down or of the Retry-After it asked for, zero when it
// admits sends now; the minimum over the endpoints. Zero leaves the delay
// to the caller's backoff.
//
// A canceled ctx is not held against any endpoint.
func (c *Chain) Send(ctx context.Context, m *crier.Message) (*crier.Receipt, error) {
	eps, failover := c.candidates(m)
	return c.run(ctx, &job{
		what: "send to " + c.id, done: "delivered",
		eps: eps, failover: failover, key: m.Key, pins: true,
		do: func(ctx context.Context, ep *endpoint) (*crier.Receipt, error) { return ep.Channel.Send(ctx, m) },
	})
}

// Revise carries out action (crier.ActionEdit, ActionReply or
// ActionDelete) on the earlier post that m.Previous describes, through
// the endpoints whose adapters offer it (crier.Editor, Replier, Deleter).
// When the endpoints share their keys (SharedKeys: the same account
// over several networks), every such endpoint is a candidate, in order;
// otherwise only the endpoint named by m.Previous.Endpoint, which made
// the post: another account cannot change it.
//
// Among the candidates, Revise behaves as Send: breakers, failover on
// Transient errors only, OnFailover, errors naming every endpoint with
// its reason, and a receipt with Endpoint and Network filled in. An edit
// or reply whose outcome is unknown pins m.Key to its endpoint as a send
// does; a delete, which repeats safely, does not. A delete returns a
// receipt with the earlier post's RemoteID and URL.
//
// Revise fails permanently for an unknown action, a message without an
// earlier post (m.Previous or its RemoteID missing), and an earlier post
// made through an endpoint the chain no longer has. It returns an error
// that wraps crier.ErrCannotRevise, classified as permanent, when no
// candidate offers the action.
func (c *Chain) Revise(ctx context.Context, action string, m *crier.Message) (*crier.Receipt, error) {
	verb, ok := revisionVerbs[action]
	if !ok {
		return nil, crier.Permanent(fmt.Errorf("revise a post on %s: unknown action %q (want %s, %s or %s)",
			c.id, action, crier.ActionEdit, crier.ActionReply, crier.ActionDelete))
	}
	what := verb + " the earlier post on " + c.id
	if m.Previous == nil || m.Previous.RemoteID == "" {
		return nil, crier.Permanent(fmt.Errorf("%s: the message names no earlier post", what))
	}
	var able []*endpoint
	for _, ep := range c.eps {
		if bind(action, ep.Channel, m) != nil {
			able = append(able, ep)
		}
	}
	if len(able) == 0 {
		return nil, crier.Permanent(fmt.Errorf("%s: no endpoint can: %w", what, crier.ErrCannotRevise))
	}
	if !c.shared {
		i := slices.IndexFunc(c.eps, func(ep *endpoint) bool { return ep.Name == m.Previous.Endpoint })
		switch {
		case i < 0:
			return nil, crier.Permanent(fmt.Errorf("%s: it was made through endpoint %q, which the channel no longer has",
				what, m.Previous.Endpoint))
		case !slices.Contains(able, c.eps[i]):
			return nil, crier.Permanent(fmt.Errorf("%s: endpoint %s, which made it, cannot: %w",
				what, c.eps[i].Name, crier.ErrCannotRevise))
		}
		able = c.eps[i : i+1]
	}
	return c.run(ctx, &job{
		what: what, done: "could " + verb + " the earlier post",
		eps: able, failover: true, key: m.Key, pins: action != crier.ActionDelete,
		do: func(ctx context.Context, ep *endpoint) (*crier.Receipt, error) {
			return bind(action, ep.Channel, m)(ctx)
		},
	})
}

// revisionVerbs words the revision actions for errors.
var revisionVerbs = map[string]string{
	crier.ActionEdit:   "edit",
	crier.ActionReply:  "reply to",
	crier.ActionDelete: "delete",
}

// bind returns action on the post m.Previous describes, carried out by
// the adapter ch, or nil when ch does not offer action.
func bind(action string, ch crier.Channel, m *crier.Message) func(context.Context) (*crier.Receipt, error) {
	prev := m.Previous
	switch action {
	case crier.ActionEdit:
		if e, ok := ch.(crier.Editor); ok {
			return func(ctx context.Context) (*crier.Receipt, error) { return e.Edit(ctx, prev.RemoteID, m) }
		}
	case crier.ActionReply:
		if r, ok := ch.(crier.Replier); ok {
			return func(ctx context.Context) (*crier.Receipt, error) { return r.Reply(ctx, prev.RemoteID, m) }
		}
	case crier.ActionDelete:
		if d, ok := ch.(crier.Deleter); ok {
			return func(ctx context.Context) (*crier.Receipt, error) {
				if err := d.Delete(ctx, prev.RemoteID); err != nil {
					return nil, err
				}
				return &crier.Receipt{RemoteID: prev.RemoteID, URL: prev.URL}, nil
			}
		}
	}
	return nil
}

// job is one operation of a chain, a send or a revision, with the
// endpoints it may use.
type job struct {
	what string // the operation, for errors: "send to radio"
	done string // what no endpoint did, for errors: "delivered"
	eps  []*endpoint
	// failover says whether a Transient failure moves on to the next
	// endpoint of eps.
	failover bool
	// key is the message's key; when pins is set, an unknown outcome pins
	// it to its endpoint and a success forgets the pin.
	key  string
	pins bool
	do   func(ctx context.Context, ep *endpoint) (*crier.Receipt, error)
}

// run carries out j through the first endpoint of j.eps whose breaker
// admits it, failing over as Send describes.
func (c *Chain) run(ctx context.Context, j *job) (*crier.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return nil, crier.Transient(fmt.Errorf("%s: %w", j.what, err), 0)
	}
	eps := j.eps
	var reasons []reason
	var last *endpoint // the last endpoint that failed
	moved := false     // the send failed over at least once
	for i, ep := range eps {
		if err := ctx.Err(); err != nil {
			reasons = notTried(reasons, eps[i:], "not tried: "+err.Error())
			break
		}
		tk, skip := ep.b.admit()
		if skip != "" {
			reasons = append(reasons, reason{ep: ep, text: skip})
			continue
		}
		if last != nil {
			moved = true
			if c.onFailover != nil {
				c.onFailover(c.id, last.Name, ep.Name)
			}
		}
		r, err := c.try(ctx, ep, tk, j)
		if err == nil {
			if moved {
				c.log.Info("delivered after failover", "endpoint", ep.Name, "network", ep.Network,
					"passed", describe(reasons))
			}
			return receipt(r, ep), nil
		}
		if crier.ErrorCode(err) != crier.ETRANSIENT {
			return nil, c.stopped(ep, moved, reasons, err)
		}
		reasons = append(reasons, reason{ep: ep, err: err})
		last = ep
		if !j.failover {
			reasons = notTried(reasons, eps[i+1:], "not tried: an earlier attempt of this message may have arrived elsewhere")
			break
		}
	}
	return nil, c.exhausted(j, moved, reasons)
}

// candidates returns the endpoints m may go to, in order, and whether a
// send may fail over among them.
func (c *Chain) candidates(m *crier.Message) ([]*endpoint, bool) {
	if !m.Ambiguous || c.shared {
		return c.eps, true
	}
	if p, ok := c.pinned(m.Key); ok {
		return c.eps[p.index : p.index+1], false
	}
	return c.eps, false
}

// try carries out j through ep and feeds the outcome into ep's breaker.
func (c *Chain) try(ctx context.Context, ep *endpoint, tk ticket, j *job) (*crier.Receipt, error) {
	start := c.clock.Now()
	r, err := j.do(ctx, ep)
	res := result{ticket: tk, err: err, latency: c.clock.Now().Sub(start)}
	code := crier.ErrorCode(err)
	switch {
	case !j.pins:
	case code == "":
		c.unpin(j.key)
	case code == crier.ETRANSIENT, code == crier.EPERMANENT:
	default: // unknown outcome, or unclassified, which counts as one
		c.pinTo(j.key, ep)
	}
	var ce *crier.Error
	switch {
	case code == "":
		res.verdict = answered
	case errors.Is(ctx.Err(), context.Canceled):
		res.verdict = neutral
	case code == crier.EPERMANENT:
		res.verdict = answered // the endpoint answered; the message was refused
	default:
		res.verdict = failed
		if errors.As(err, &ce) {
			res.retryAfter = ce.RetryAfter
		}
	}
	ep.b.record(res)
	return r, err
}

// stopped returns err, which ended a send at ep without failover, naming
// the endpoints that failed or were skipped before it.
func (c *Chain) stopped(ep *endpoint, moved bool, reasons []reason, err error) error {
	if len(reasons) == 0 {
		return err
	}
	if moved {
		c.log.Info("send failed over and ended without delivery", "endpoint", ep.Name,
			"network", ep.Network, "passed", describe(reasons), "err", err)
	}
	return fmt.Errorf("via %s, after [%s]: %w", ep.Name, describe(reasons), err)
}

// exhausted returns the Transient error of a job that no endpoint in
// j.eps carried out.
func (c *Chain) exhausted(j *job, moved bool, reasons []reason) error {
	wait := time.Duration(-1)
	for _, ep := range j.eps {
		if w := ep.b.wait(); wait < 0 || w < wait {
			wait = w
		}
	}
	err := &chainError{channel: c.id, done: j.done, reasons: reasons}
	if moved {
		c.log.Info("send failed over and no endpoint delivered", "err", err, "retry_after", wait)
	}
	return crier.Transient(err, wait)
}

// receipt returns r with Endpoint and Network filled in from ep where the
// adapter left them empty.
func receipt(r *crier.Receipt, ep *endpoint) *crier.Receipt {
	var out crier.Receipt
	if r != nil {
		out = *r
	}
	if out.Endpoint == "" {
		out.Endpoint = ep.Name
	}
	if out.Network == "" {
		out.Network = ep.Network
	}
	return &out
}

// reason says why an endpoint did not deliver: its error, or why it was
// not tried.
type reason struct {
	ep   *endpoint
	err  error
	text string
}

func (r reason) String() string {
	if r.err != nil {
		return r.ep.Name + ": " + r.err.Error()
	}
	return r.ep.Name + ": " + r.text
}

func notTried(reasons []reason, eps []*endpoint, text string) []reason {
	for _, ep := range eps {
		reasons = append(reasons, reason{ep: ep, text: text})
	}
	return reasons
}

func describe(reasons []reason) string {
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = r.String()
	}
	return strings.Join(parts, "; ")
}

// chainError lists why each endpoint of a chain did not deliver (or
// revise). It unwraps to the endpoints' errors.
type chainError struct {
	channel string
	done    string // what no endpoint did: "delivered"
	reasons []reason
}

func (e *chainError) Error() string {
	return fmt.Sprintf("no endpoint of %s %s: %s", e.channel, e.done, describe(e.reasons))
}

func (e *chainError) Unwrap() []error {
	var errs []error
	for _, r := range e.reasons {
		if r.err != nil {
			errs = append(errs, r.err)
		}
	}
	return errs
}

// pinTo remembers that key's send had an unknown outcome at ep.
func (c *Chain) pinTo(key string, ep *endpoint) {
	if key == "" {
		return
	}
	now := c.clock.Now()
	c.pinMu.Lock()
	defer c.pinMu.Unlock()
	if len(c.pins) >= pinSweep {
		for k, p := range c.pins {
			if now.Sub(p.at) >= pinTTL {
				delete(c.pins, k)
			}
		}
	}
	c.pins[key] = pin{index: ep.index, at: now}
}

// pinned returns the endpoint at which key's send last had an unknown
// outcome, if the chain remembers one.
func (c *Chain) pinned(key string) (pin, bool) {
	c.pinMu.Lock()
	defer c.pinMu.Unlock()
	p, ok := c.pins[key]
	if ok && c.clock.Now().Sub(p.at) >= pinTTL {
		delete(c.pins, key)
		return pin{}, false
	}
	return p, ok
}

func (c *Chain) unpin(key string) {
	c.pinMu.Lock()
	defer c.pinMu.Unlock()
	delete(c.pins, key)
}

// Check runs the Check of every endpoint whose channel implements
// crier.Checker, in parallel, and returns the union of their problems in
// endpoint order, each once: a message must fit wherever failover may send
// it. When the chain has several endpoints, each problem's Message ends
// with the endpoints that reported it, e.g. "(endpoints a, b)".
func (c *Chain) Check(ctx context.Context, m *crier.Message) []crier.Problem {
	found := make([][]crier.Problem, len(c.eps))
	var wg sync.WaitGroup
	for i, ep := range c.eps {
		if ch, ok := ep.Channel.(crier.Checker); ok {
			wg.Go(func() { found[i] = ch.Check(ctx, m) })
		}
	}
	wg.Wait()

	var order []crier.Problem
	by := map[crier.Problem][]string{}
	for i, ps := range found {
		for _, p := range ps {
			names, ok := by[p]
			if !ok {
				order = append(order, p)
			}
			if len(names) == 0 || names[len(names)-1] != c.eps[i].Name {
				by[p] = append(names, c.eps[i].Name)
			}
		}
	}
	if len(c.eps) > 1 {
		for i, p := range order {
			names := by[p]
			label := "endpoint "
			if len(names) > 1 {
				label = "endpoints "
			}
			order[i].Message = fmt.Sprintf("%s (%s%s)", p.Message, label, strings.Join(names, ", "))
		}
	}
	return order
}

// Close closes every endpoint's channel that implements crier.Closer and
// returns their errors joined, each naming its endpoint.
func (c *Chain) Close() error {
	var errs []error
	for _, ep := range c.eps {
		if cl, ok := ep.Channel.(crier.Closer); ok {
			if err := cl.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s: %w", ep.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}
