package netpath

import (
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crierhq/crier"
)

// Targets holds what the endpoints of several chains share when they reach
// the same place over the same network: one circuit breaker, one set of
// send slots, and whether the place is gone. Fourteen towns' webhook
// channels posting to the county's radio receiver, or their Mastodon
// accounts on one instance, then learn together that it hangs or is back:
// a success through one of them closes the breaker for all and releases
// every delivery that waited for it. It is safe for concurrent use.
type Targets struct {
	opts  BreakerOptions
	clock crier.Clock

	// OnGone, when set, is called with a target's key when one of its
	// endpoints answered that it no longer exists, and OnClear when a
	// person cleared that: the state outlives a restart when they keep it
	// (see RestoreGone). They run on the sending goroutine, or the one
	// that resets, with no lock held.
	OnGone  func(key string, since time.Time, why string)
	OnClear func(key string)

	mu sync.Mutex
	m  map[string]*target
}

// NewTargets returns an empty set of targets whose breakers follow o and
// clock (default crier.SystemClock).
func NewTargets(o BreakerOptions, clock crier.Clock) *Targets {
	if clock == nil {
		clock = crier.SystemClock{}
	}
	return &Targets{opts: o, clock: clock, m: map[string]*target{}}
}

// get returns the target for key, created with slots send slots (0: no
// limit) on first use; later calls get it as it was created.
func (ts *Targets) get(key string, slots int) *target {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t, ok := ts.m[key]
	if !ok {
		t = newTarget(key, ts.opts, ts.clock, slots)
		t.ts = ts
		ts.m[key] = t
	}
	return t
}

// RestoreGone marks gone every target for which gone reports so, as kept
// by OnGone before a restart, without calling OnGone again.
func (ts *Targets) RestoreGone(gone func(key string) (since time.Time, why string, ok bool)) {
	ts.mu.Lock()
	targets := make([]*target, 0, len(ts.m))
	for _, t := range ts.m {
		targets = append(targets, t)
	}
	ts.mu.Unlock()
	for _, t := range targets {
		if since, why, ok := gone(t.key); ok {
			t.mu.Lock()
			t.gone, t.goneErr = since, why
			t.mu.Unlock()
		}
	}
}

// target is one place endpoints reach: its breaker, its send slots and its
// gone state, and the chain endpoints that use it.
type target struct {
	ts    *Targets // nil for an endpoint's own target
	key   string
	b     *breaker
	slots int // the most sends in flight at once; 0: no limit

	inflight atomic.Int32

	mu      sync.Mutex
	users   []*endpoint // chain endpoints that reach this target
	gone    time.Time   // when the endpoint said it no longer exists; zero if not
	goneErr string
}

func newTarget(key string, o BreakerOptions, clock crier.Clock, slots int) *target {
	t := &target{key: key, slots: slots}
	t.b = newBreaker(o, clock, t.notify)
	return t
}

// use registers ep as a user of t.
func (t *target) use(ep *endpoint) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.users = append(t.users, ep)
}

// notify logs a change of t's breaker once and reports it to every chain
// endpoint that uses t. It runs with the breaker locked.
func (t *target) notify(tr transition) {
	t.mu.Lock()
	users := t.users
	t.mu.Unlock()
	if len(users) == 0 {
		return
	}
	first := users[0]
	log := first.chain.log.With("endpoint", first.Name, "network", first.Network)
	if len(users) > 1 {
		log = log.With("shared_by", strconv.Itoa(len(users))+" channels")
	}
	switch tr.to {
	case StateOpen:
		log.Warn("endpoint failing; sends skip it", "failures", tr.failures, "until", tr.until, "err", tr.err)
	case StateHalfOpen:
		log.Info("endpoint cool-down over; the next send tries it")
	case StateClosed:
		log.Info("endpoint answers again; sends use it", "from", tr.from)
	}
	tell(users, tr.from, tr.to)
}

// tell reports a change of a target's state to every chain endpoint that
// uses it (OnChange), and a target that takes sends again (to closed) to
// their chains (OnRecover).
func tell(users []*endpoint, from, to State) {
	for _, ep := range users {
		if ep.chain.onChange != nil {
			ep.chain.onChange(ep.chain.id, ep.Name, ep.Network, from, to)
		}
		if to == StateClosed && ep.chain.onRecover != nil {
			ep.chain.onRecover(ep.chain.id)
		}
	}
}

// take claims one of t's send slots, or reports that all are taken.
func (t *target) take() bool {
	if t.slots <= 0 {
		t.inflight.Add(1)
		return true
	}
	for {
		n := t.inflight.Load()
		if int(n) >= t.slots {
			return false
		}
		if t.inflight.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// give returns a slot claimed by take.
func (t *target) give() { t.inflight.Add(-1) }

// markGone records that the endpoint answered that it no longer exists,
// and tells every chain endpoint that uses t. It reports whether that is
// news.
func (t *target) markGone(now time.Time, err error) bool {
	t.mu.Lock()
	if !t.gone.IsZero() {
		t.mu.Unlock()
		return false
	}
	t.gone, t.goneErr = now, errText(err)
	why, users := t.goneErr, t.users
	t.mu.Unlock()
	if t.ts != nil && t.ts.OnGone != nil {
		t.ts.OnGone(t.key, now, why)
	}
	tell(users, StateClosed, StateGone)
	return true
}

// goneSince returns when t was found gone, zero if it is not.
func (t *target) goneSince() (time.Time, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.gone, t.goneErr
}

// reset forgets that t is gone, telling every chain endpoint that uses
// it, and closes its breaker. It reports whether t was gone and whether
// anything changed.
func (t *target) reset() (wasGone, changed bool) {
	t.mu.Lock()
	wasGone = !t.gone.IsZero()
	t.gone, t.goneErr = time.Time{}, ""
	users := t.users
	t.mu.Unlock()
	if wasGone {
		if t.ts != nil && t.ts.OnClear != nil {
			t.ts.OnClear(t.key)
		}
		tell(users, StateGone, StateClosed)
	}
	closed := t.b.reset()
	return wasGone, closed || wasGone
}

// discard is a logger that drops everything.
var discard = slog.New(slog.DiscardHandler)
