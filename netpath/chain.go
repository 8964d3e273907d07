package netpath

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
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
	// Receiver names the receiver the endpoint delivers to, as far as its
	// memory of message keys goes: endpoints of a chain with the same
	// Receiver reach one webhook receiver or one Mastodon account, which
	// drops a repeated key whichever endpoint it comes through. Empty: the
	// endpoint's own, shared with no other (the safe reading).
	Receiver string
	// Target, when set, names the place the endpoint reaches over its
	// network (for example "webhook https://radio.example/hook via lte");
	// endpoints of the chains built with the same Targets and the same
	// Target share one breaker, one set of send slots and one gone state.
	// Empty: the endpoint's own.
	Target string
	// Slots bounds the sends in flight to the endpoint's target at once,
	// so that a slow or hung endpoint holds at most that many of its
	// channel type's send slots; a send beyond it skips the endpoint as
	// an open breaker does (the next endpoint, or crier.Deferred). 0: no
	// bound. The first endpoint to name a target sets its bound.
	Slots int
}

// ChainOptions configure a Chain.
type ChainOptions struct {
	// Channel is the channel's id, for health and callbacks. Required.
	Channel string
	// Endpoints are tried in this order. At least one is required.
	Endpoints []Endpoint
	// Breaker configures every endpoint's circuit breaker when Targets is
	// nil; otherwise the breakers are Targets'.
	Breaker BreakerOptions
	// Targets, when set, holds the state endpoints share with those of
	// other chains that name the same Endpoint.Target.
	Targets *Targets
	// Clock drives the breakers' cool-downs; default crier.SystemClock.
	Clock crier.Clock
	// Logger receives state changes and failovers, with the endpoint and
	// network as attributes (add the channel with Logger.With); default:
	// discard.
	Logger *slog.Logger
	// OnChange, when set, is called once per breaker state change (for
	// metrics), for every chain endpoint that shares the breaker. It runs
	// while that endpoint's breaker is locked, so that changes arrive in
	// order; it must not call the Chain's methods.
	OnChange func(channel, endpoint, network string, from, to State)
	// OnFailover, when set, is called each time a send moves on to the
	// next endpoint after a failure that proved nothing was delivered.
	OnFailover func(channel, from, to string)
	// OnRecover, when set, is called with the channel's id when one of its
	// endpoints takes sends again after it did not (its breaker closed,
	// or a person cleared it): deliveries held back for it may go now.
	// Like OnChange it must not call the Chain's methods and should not
	// block.
	OnRecover func(channel string)
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
	onChange   func(channel, endpoint, network string, from, to State)
	onFailover func(channel, from, to string)
	onRecover  func(channel string)
}

// endpoint is an Endpoint of one chain with the target it reaches.
type endpoint struct {
	Endpoint
	chain    *Chain
	index    int
	receiver string // Receiver, or a name of its own
	t        *target
	b        *breaker // t.b

	mu      sync.Mutex
	refused string // why the last probe was refused (a revoked token); "" when it passed
}

// How long a delivery waits when no endpoint could take it and none says
// when it will: send slots busy, or every endpoint gone.
const (
	busyWait = time.Second
	goneWait = time.Minute
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
		onChange:   o.OnChange,
		onFailover: o.OnFailover,
		onRecover:  o.OnRecover,
	}
	if c.clock == nil {
		c.clock = crier.SystemClock{}
	}
	if c.log == nil {
		c.log = discard
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
		ep := &endpoint{Endpoint: e, chain: c, index: i, receiver: e.Receiver}
		if ep.receiver == "" {
			ep.receiver = "\x00" + e.Name // no Receiver names it
		}
		if o.Targets != nil && e.Target != "" {
			ep.t = o.Targets.get(e.Target, e.Slots)
		} else {
			ep.t = newTarget(e.Name, o.Breaker, c.clock, e.Slots)
		}
		ep.b = ep.t.b
		ep.t.use(ep)
		c.eps = append(c.eps, ep)
	}
	return c, nil
}

// ID returns the channel's id.
func (c *Chain) ID() string { return c.id }

// Endpoints returns the chain's endpoints in order.
func (c *Chain) Endpoints() []Endpoint {
	out := make([]Endpoint, len(c.eps))
	for i, ep := range c.eps {
		out[i] = ep.Endpoint
	}
	return out
}

// SharesKeys reports whether every endpoint of the chain reaches the same
// receiver (Endpoint.Receiver), so that a message whose earlier attempt
// may have arrived can go through any of them.
func (c *Chain) SharesKeys() bool {
	for _, ep := range c.eps[1:] {
		if ep.receiver != c.eps[0].receiver {
			return false
		}
	}
	return true
}

// Send delivers m through the first endpoint that admits it and returns
// that endpoint's receipt, with Endpoint and Network filled in where the
// adapter left them empty.
//
// An endpoint is skipped while its breaker is open, while it is gone (it
// answered 410 or its certificate is not trusted; see Reset), while its
// last probe was refused, and while
// all its send slots are taken. When an endpoint fails with a Transient
// error (nothing was delivered), Send records the failure and tries the
// next endpoint; a Gone answer marks the endpoint gone and does the same.
// A timeout opens the endpoint's breaker at once. A refusal of the
// message's recipient alone (crier.Error.Recipient, a relay's reply to
// RCPT TO) counts for no breaker. Send does not fail over after it, an
// unknown outcome, a permanent refusal or an unclassified error:
// it returns that error as the adapter classified it, with the endpoint
// named in crier.Error.Endpoint, prefixed with the failures before it when
// there were any. A send the adapter itself held back (crier.Deferred, its
// own pacing) is no failure: Send returns it at once, without failover.
//
// A message whose earlier attempt had an unknown outcome (m.Ambiguous)
// goes only to the endpoints that remember its key: those with the same
// Receiver as m.Pin, the endpoint of that attempt, or as the first
// endpoint when m.Pin is not known. When they cannot take it, it waits:
// another receiver does not know its key. A pin naming an endpoint the
// chain no longer has is an unknown outcome for a person to check.
//
// When no endpoint delivered, Send returns a Transient error that names
// every endpoint with its reason, Deferred when no endpoint was tried at
// all. Its RetryAfter is the shortest wait until an endpoint admits a
// send again: per endpoint, the rest of its breaker's cool-down or of the
// Retry-After it asked for, a second while its slots are busy, a minute
// while it is gone; the minimum over the endpoints.
//
// A canceled ctx is not held against any endpoint.
func (c *Chain) Send(ctx context.Context, m *crier.Message) (*crier.Receipt, error) {
	eps, err := c.candidates(m)
	if err != nil {
		return nil, err
	}
	return c.run(ctx, &job{
		what: "send to " + c.id, done: "delivered", eps: eps,
		do: func(ctx context.Context, ep *endpoint) (*crier.Receipt, error) { return ep.Channel.Send(ctx, m) },
	})
}

// Revise carries out action (crier.ActionEdit, ActionReply or
// ActionDelete) on the earlier post that m.Previous describes, through
// the endpoints whose adapters offer it (crier.Editor, Replier, Deleter)
// and that reach the receiver of m.Previous.Endpoint, which made the post
// (the same Receiver: the same account over several networks), in order:
// another account cannot change it.
//
// Among the candidates, Revise behaves as Send: breakers, failover on
// Transient errors only, OnFailover, errors naming every endpoint with
// its reason, and a receipt with Endpoint and Network filled in. An edit
// or reply whose outcome is unknown names its endpoint as a send does. A
// delete returns a receipt with the earlier post's RemoteID and URL.
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
	// The receiver that has the post: that of the endpoint that made it,
	// or the only one when every endpoint reaches the same receiver,
	// whatever the endpoint was called then.
	i := slices.IndexFunc(c.eps, func(ep *endpoint) bool { return ep.Name == m.Previous.Endpoint })
	if i < 0 && c.SharesKeys() {
		i = 0
	}
	if i < 0 {
		return nil, crier.Permanent(fmt.Errorf("%s: it was made through endpoint %q, which the channel no longer has",
			what, m.Previous.Endpoint))
	}
	var able, offer []*endpoint
	for _, ep := range c.eps {
		if bind(action, ep.Channel, m) == nil {
			continue
		}
		offer = append(offer, ep)
		if ep.receiver == c.eps[i].receiver {
			able = append(able, ep)
		}
	}
	switch {
	case len(offer) == 0:
		return nil, crier.Permanent(fmt.Errorf("%s: no endpoint can: %w", what, crier.ErrCannotRevise))
	case len(able) == 0:
		return nil, crier.Permanent(fmt.Errorf("%s: endpoint %s, which made it, cannot: %w",
			what, c.eps[i].Name, crier.ErrCannotRevise))
	}
	return c.run(ctx, &job{
		what: what, done: "could " + verb + " the earlier post", eps: able,
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
	do   func(ctx context.Context, ep *endpoint) (*crier.Receipt, error)
}

// run carries out j through the first endpoint of j.eps that admits it,
// failing over as Send describes.
func (c *Chain) run(ctx context.Context, j *job) (*crier.Receipt, error) {
	if err := ctx.Err(); err != nil {
		return nil, crier.Deferred(fmt.Errorf("%s: %w", j.what, err), 0)
	}
	var reasons []reason
	var last *endpoint // the last endpoint that failed
	moved := false     // the send failed over at least once
	tried := false     // some endpoint was tried
	for i, ep := range j.eps {
		if err := ctx.Err(); err != nil {
			reasons = notTried(reasons, j.eps[i:], "not tried: "+err.Error())
			break
		}
		tk, skip := ep.admit()
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
		if crier.IsDeferred(err) {
			// The adapter's own pacing: the send waits for its turn on
			// this endpoint; nothing failed.
			return nil, at(err, ep)
		}
		tried = true
		if crier.IsGone(err) {
			c.gone(ep, err)
			reasons = append(reasons, reason{ep: ep, err: err})
			last = ep
			continue
		}
		if crier.ErrorCode(err) != crier.ETRANSIENT || crier.IsRecipient(err) {
			// Another endpoint would ask the same recipient.
			return nil, c.stopped(ep, moved, reasons, err)
		}
		reasons = append(reasons, reason{ep: ep, err: err})
		last = ep
	}
	return nil, c.exhausted(j, moved, tried, reasons)
}

// admit decides whether a send may go to ep now: it returns the send's
// ticket, with one of the target's send slots taken, or why ep is skipped.
func (ep *endpoint) admit() (ticket, string) {
	if since, _ := ep.t.goneSince(); !since.IsZero() {
		return ticket{}, "gone since " + since.UTC().Format(time.RFC3339) + "; a person must clear it"
	}
	ep.mu.Lock()
	refused := ep.refused
	ep.mu.Unlock()
	if refused != "" {
		return ticket{}, "refused at the last probe: " + refused
	}
	if !ep.t.take() {
		return ticket{}, fmt.Sprintf("all %d send slots busy", ep.t.slots)
	}
	tk, skip := ep.b.admit()
	if skip != "" {
		ep.t.give()
	}
	return tk, skip
}

// candidates returns the endpoints m may go to, in order.
func (c *Chain) candidates(m *crier.Message) ([]*endpoint, error) {
	if !m.Ambiguous {
		return c.eps, nil
	}
	var receiver string
	if m.Pin == "" {
		receiver = c.eps[0].receiver
	} else {
		i := slices.IndexFunc(c.eps, func(ep *endpoint) bool { return ep.Name == m.Pin })
		if i < 0 {
			return nil, crier.Unknown(fmt.Errorf("send to %s: an earlier attempt may have arrived through endpoint %q, which the channel no longer has",
				c.id, m.Pin), false)
		}
		receiver = c.eps[i].receiver
	}
	var out []*endpoint
	for _, ep := range c.eps {
		if ep.receiver == receiver {
			out = append(out, ep)
		}
	}
	return out, nil
}

// try carries out j through ep, feeds the outcome into ep's breaker and
// gives back the send slot admit took.
func (c *Chain) try(ctx context.Context, ep *endpoint, tk ticket, j *job) (*crier.Receipt, error) {
	defer ep.t.give()
	start := c.clock.Now()
	r, err := j.do(ctx, ep)
	res := result{ticket: tk, err: err, latency: c.clock.Now().Sub(start)}
	code := crier.ErrorCode(err)
	var ce *crier.Error
	switch {
	case code == "":
		res.verdict = answered
		ep.setRefused("")
	case errors.Is(ctx.Err(), context.Canceled), crier.IsDeferred(err):
		res.verdict = neutral
	case code == crier.EPERMANENT, crier.IsRecipient(err):
		// The endpoint answered; the message, or its recipient, was
		// refused.
		res.verdict = answered
	default:
		res.verdict = failed
		res.hard = timedOut(ctx, err)
		if errors.As(err, &ce) {
			res.retryAfter = ce.RetryAfter
		}
	}
	ep.b.record(res)
	if err != nil {
		err = at(err, ep)
	}
	return r, err
}

// timedOut reports whether err says that the endpoint did not answer in
// time: the send's deadline passed, or a connection timed out.
func timedOut(ctx context.Context, err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// at returns err with the endpoint that ended the send named in its
// crier.Error (an unclassified error becomes a non-retryable unknown
// outcome, as the workers would read it).
func at(err error, ep *endpoint) error {
	var ce *crier.Error
	if !errors.As(err, &ce) {
		return &crier.Error{Code: crier.EUNKNOWN, Message: err.Error(), Endpoint: ep.Name, Network: ep.Network, Err: err}
	}
	if ce.Endpoint != "" {
		return err
	}
	named := *ce
	named.Endpoint, named.Network, named.Err = ep.Name, ep.Network, err
	return &named
}

// gone marks ep's target gone after it answered that it no longer exists
// (HTTP 410) or its settings were found not to work with it (an untrusted
// certificate), logging it once: the error says what is wrong, and the
// log says how to clear it.
func (c *Chain) gone(ep *endpoint, err error) {
	if ep.t.markGone(c.clock.Now(), err) {
		c.log.Error("endpoint is gone: sends skip it until a person has fixed it and clears it with "+
			"crier endpoints reset "+c.id+" "+ep.Name, "endpoint", ep.Name, "network", ep.Network, "err", err)
	}
}

// setRefused records why ep's last probe was refused, or clears it.
func (ep *endpoint) setRefused(why string) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.refused = why
}

// Reset clears what keeps the named endpoint from taking sends: its gone
// state, a refused probe, an open breaker and its failures. Deliveries
// held back for it are released (OnRecover). It returns a not_found error
// for an endpoint the chain does not have.
func (c *Chain) Reset(name string) error {
	i := slices.IndexFunc(c.eps, func(ep *endpoint) bool { return ep.Name == name })
	if i < 0 {
		return crier.Errorf(crier.ENOTFOUND, "channel %s has no endpoint %q", c.id, name)
	}
	ep := c.eps[i]
	ep.setRefused("")
	wasGone, changed := ep.t.reset()
	if changed {
		c.log.Info("endpoint cleared by a person; sends use it again", "endpoint", ep.Name, "network", ep.Network)
	}
	// A target that was gone told every chain that uses it; otherwise this
	// chain's deliveries go now all the same (a refused probe was cleared).
	if !wasGone && c.onRecover != nil {
		c.onRecover(c.id)
	}
	return nil
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
// j.eps carried out: Deferred when none of them was tried.
func (c *Chain) exhausted(j *job, moved, tried bool, reasons []reason) error {
	wait := time.Duration(-1)
	for _, ep := range j.eps {
		if w := ep.wait(); wait < 0 || w < wait {
			wait = w
		}
	}
	err := &chainError{channel: c.id, done: j.done, reasons: reasons}
	if moved {
		c.log.Info("send failed over and no endpoint delivered", "err", err, "retry_after", wait)
	}
	if !tried {
		return crier.Deferred(err, wait)
	}
	return crier.Transient(err, wait)
}

// wait returns how long from now until ep may admit a send.
func (ep *endpoint) wait() time.Duration {
	if since, _ := ep.t.goneSince(); !since.IsZero() {
		return goneWait
	}
	ep.mu.Lock()
	refused := ep.refused != ""
	ep.mu.Unlock()
	w := ep.b.wait()
	switch {
	case refused:
		return max(w, goneWait)
	case ep.t.slots > 0 && int(ep.t.inflight.Load()) >= ep.t.slots:
		return max(w, busyWait)
	}
	return w
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

// problemKey identifies a problem by all its fields, so that the same
// problem reported by several endpoints is listed once.
func problemKey(p crier.Problem) string {
	return strings.Join(append([]string{p.Field, p.Town, p.Channel, p.Code, p.Message}, p.Args...), "\x00")
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
	by := map[string][]string{}
	for i, ps := range found {
		for _, p := range ps {
			k := problemKey(p)
			names, ok := by[k]
			if !ok {
				order = append(order, p)
			}
			if len(names) == 0 || names[len(names)-1] != c.eps[i].Name {
				by[k] = append(names, c.eps[i].Name)
			}
		}
	}
	if len(c.eps) > 1 {
		for i, p := range order {
			names := by[problemKey(p)]
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
