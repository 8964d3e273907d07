package netpath_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/channels/channeltest"
	"github.com/crierhq/crier/netpath"
)

// TestGoneEndpoint: a 410 marks that endpoint gone, not the channel: the
// send moves on to the next endpoint at once, later sends skip the gone
// one without a request, health says so, and a person's Reset brings it
// back and releases what waited.
func TestGoneEndpoint(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	var recovered []string
	w := newWorld(t, ep("p", "default", primary), ep("b", "lte", backup))
	w.chain = mustChain(t, netpath.ChainOptions{
		Channel: "radio", Clock: w.clock,
		Endpoints: []netpath.Endpoint{ep("p", "default", primary), ep("b", "lte", backup)},
		OnChange: func(channel, endpoint, network string, from, to netpath.State) {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.changes = append(w.changes, change{channel, endpoint, network, from, to})
		},
		OnRecover: func(channel string) { recovered = append(recovered, channel) },
	})
	primary.next(reply{err: crier.Gone(errors.New("410 Gone: this hook was removed"))})

	w.mustSend(t, "k1", "b")
	for _, k := range []string{"k2", "k3"} {
		w.mustSend(t, k, "b")
	}
	if diff := cmp.Diff([]string{"k1"}, primary.sent()); diff != "" {
		t.Errorf("primary got (-want +got):\n%s", diff)
	}
	h := w.chain.Health()[0]
	if h.State != netpath.StateGone || !h.GoneSince.Equal(epoch) || h.LastError == "" {
		t.Errorf("health of p: %+v; want gone since %v with the answer", h, epoch)
	}
	if got := w.gotChanges(); !slices.Contains(got, change{"radio", "p", "default", netpath.StateClosed, netpath.StateGone}) {
		t.Errorf("changes %v; want p reported gone", got)
	}

	// With the backup down too, a send waits: nothing is tried on p.
	backup.always(transient("connection refused", 0))
	_, err := w.send("k4")
	wantError(t, err, crier.ETRANSIENT)
	if n := len(primary.sent()); n != 1 {
		t.Errorf("primary got %d sends, want 1: gone endpoints are skipped", n)
	}

	if err := w.chain.Reset("p"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"radio"}, recovered); diff != "" {
		t.Errorf("OnRecover (-want +got):\n%s", diff)
	}
	if h := w.chain.Health()[0]; h.State != netpath.StateClosed || !h.GoneSince.IsZero() {
		t.Errorf("after Reset: %+v; want closed", h)
	}
	w.mustSend(t, "k5", "p")
	if err := w.chain.Reset("nope"); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("Reset of an unknown endpoint: %v; want not found", err)
	}
}

// TestOnlyGoneEndpointDefers: when the only endpoint is gone, a send is
// deferred without a request: no attempt, a wait of its own.
func TestOnlyGoneEndpointDefers(t *testing.T) {
	only := newRemote("only")
	w := newWorld(t, ep("only", "default", only))
	only.next(reply{err: crier.Gone(errors.New("410 Gone"))})
	_, err := w.send("k1")
	if e := wantError(t, err, crier.ETRANSIENT); e.Deferred {
		t.Errorf("the send that got the 410 is deferred; it was an attempt")
	}
	_, err = w.send("k2")
	e := wantError(t, err, crier.ETRANSIENT)
	if !e.Deferred || e.RetryAfter <= 0 {
		t.Errorf("send to a gone endpoint: %#v; want deferred with a wait", e)
	}
	if n := len(only.sent()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// TestPacingIsNoFailure: a send the adapter held back for its own pacing
// (crier.Deferred) counts against no breaker, moves to no other endpoint
// and is reported as deferred, with the adapter's wait.
func TestPacingIsNoFailure(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	w := newWorld(t, ep("p", "default", primary), ep("b", "lte", backup))
	paced := crier.Deferred(errors.New("slack takes about one message per second; this one's turn is 3s away"), 3*time.Second)
	for range 5 {
		primary.next(reply{err: paced})
	}
	for _, k := range []string{"k1", "k2", "k3", "k4", "k5"} {
		_, err := w.send(k)
		e := wantError(t, err, crier.ETRANSIENT)
		if !e.Deferred || e.RetryAfter != 3*time.Second || e.Endpoint != "p" {
			t.Fatalf("%s: %#v; want deferred by p for 3s", k, e)
		}
	}
	if got := backup.sent(); len(got) != 0 {
		t.Errorf("backup got %q; pacing is no reason to fail over", got)
	}
	if got := w.gotFailovers(); len(got) != 0 {
		t.Errorf("failovers %v, want none", got)
	}
	if h := w.chain.Health()[0]; h.State != netpath.StateClosed || h.Failures != 0 {
		t.Errorf("health of p: %s with %d failures; want closed with none", h.State, h.Failures)
	}
	if n := w.logged("INFO", "failover"); n != 0 {
		t.Errorf("%d log lines about failover, want none: %v", n, w.log())
	}
}

// TestTimeoutOpensAtOnce: a send that got no answer in time opens the
// breaker at the first time, so that a hung endpoint is skipped quickly.
func TestTimeoutOpensAtOnce(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	w := newWorld(t, ep("p", "default", primary), ep("b", "lte", backup))
	primary.next(reply{err: crier.Transient(context.DeadlineExceeded, 0)})
	w.mustSend(t, "k1", "b")
	if got := w.state(t, 0); got != netpath.StateOpen {
		t.Errorf("p is %s after a timeout, want open", got)
	}
	w.mustSend(t, "k2", "b")
	if n := len(primary.sent()); n != 1 {
		t.Errorf("primary got %d sends, want 1", n)
	}
}

// TestSkippedIsNoAttempt: when every endpoint is skipped by its breaker,
// the send is deferred, so that the workers count no attempt.
func TestSkippedIsNoAttempt(t *testing.T) {
	only := newRemote("only")
	w := newWorld(t, ep("only", "default", only))
	only.always(transient("503 Service Unavailable", 0))
	for _, k := range []string{"k1", "k2", "k3"} {
		_, err := w.send(k)
		if e := wantError(t, err, crier.ETRANSIENT); e.Deferred {
			t.Fatalf("%s: deferred, but it was tried", k)
		}
	}
	_, err := w.send("k4")
	e := wantError(t, err, crier.ETRANSIENT)
	if !e.Deferred || e.RetryAfter != netpath.DefaultCoolDown {
		t.Errorf("send while open: %#v; want deferred for the cool-down", e)
	}
}

// TestSharedTarget: the endpoints of two chains that reach one target
// share its breaker: failures through one open it for both, and a
// success through either closes it and releases both chains' deliveries.
func TestSharedTarget(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	targets := netpath.NewTargets(netpath.BreakerOptions{}, clock)
	var mu sync.Mutex
	var recovered []string
	onRecover := func(channel string) {
		mu.Lock()
		defer mu.Unlock()
		recovered = append(recovered, channel)
	}
	radio := newRemote("radio")
	chains := map[string]*netpath.Chain{}
	for _, id := range []string{"soest", "werl"} {
		chains[id] = mustChain(t, netpath.ChainOptions{
			Channel: id, Clock: clock, Targets: targets, OnRecover: onRecover,
			Endpoints: []netpath.Endpoint{{Name: "radio", Network: "default", Channel: radio, Target: "webhook radio"}},
		})
	}
	radio.always(transient("503 Service Unavailable", 0))
	for _, k := range []string{"k1", "k2", "k3"} {
		chains["soest"].Send(t.Context(), message(k))
	}
	if got := chains["werl"].Health()[0].State; got != netpath.StateOpen {
		t.Fatalf("werl's endpoint is %s after soest's failures, want open", got)
	}
	_, err := chains["werl"].Send(t.Context(), message("w1"))
	if !crier.IsDeferred(err) {
		t.Errorf("werl's send while open: %v; want deferred", err)
	}
	// A probe through werl finds it back: both chains take sends again.
	radio.always(reply{})
	chains["werl"].Probe(t.Context())
	mu.Lock()
	got := slices.Sorted(slices.Values(recovered))
	mu.Unlock()
	if diff := cmp.Diff([]string{"soest", "werl"}, got); diff != "" {
		t.Errorf("OnRecover (-want +got):\n%s", diff)
	}
	if _, err := chains["soest"].Send(t.Context(), message("k4")); err != nil {
		t.Errorf("soest after recovery: %v", err)
	}
}

// TestSlots: an endpoint holds at most Slots sends at once; one more is
// deferred without a request and fails nothing over.
func TestSlots(t *testing.T) {
	hung, backup := newRemote("hung"), newRemote("backup")
	hung.entered = make(chan string, 4)
	gate := make(chan struct{})
	hung.always(reply{gate: gate})
	c := mustChain(t, netpath.ChainOptions{
		Channel: "social", Clock: channeltest.NewClock(epoch),
		Endpoints: []netpath.Endpoint{
			{Name: "m2", Network: "default", Channel: hung, Slots: 2},
			{Name: "backup", Network: "lte", Channel: backup, Slots: 2},
		},
	})
	var wg sync.WaitGroup
	for _, k := range []string{"k1", "k2"} {
		wg.Go(func() { c.Send(context.Background(), message(k)) })
		<-hung.entered
	}
	if h := c.Health()[0]; h.InFlight != 2 || h.Slots != 2 {
		t.Errorf("m2 in flight %d of %d, want 2 of 2", h.InFlight, h.Slots)
	}
	r, err := c.Send(t.Context(), message("k3"))
	if err != nil || r.Endpoint != "backup" {
		t.Errorf("k3: %+v, %v; want it through the backup while m2's slots are busy", r, err)
	}
	m := message("k4")
	m.Ambiguous, m.Pin = true, "m2"
	_, err = c.Send(t.Context(), m)
	if e := wantError(t, err, crier.ETRANSIENT); !e.Deferred || e.RetryAfter <= 0 {
		t.Errorf("pinned send while m2 is busy: %#v; want deferred with a wait", e)
	}
	close(gate)
	wg.Wait()
	if h := c.Health()[0]; h.InFlight != 0 {
		t.Errorf("m2 in flight %d after the sends ended, want 0", h.InFlight)
	}
}

func mustChain(t *testing.T, o netpath.ChainOptions) *netpath.Chain {
	t.Helper()
	c, err := netpath.NewChain(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSharedTargetGone: a 410 through one chain marks the place gone for
// every chain that reaches it, and each is told (OnChange, for metrics);
// a person's reset through any of them tells all and releases all.
func TestSharedTargetGone(t *testing.T) {
	clock := channeltest.NewClock(epoch)
	targets := netpath.NewTargets(netpath.BreakerOptions{}, clock)
	var mu sync.Mutex
	var changes []string
	recovered := map[string]int{}
	radio := newRemote("radio")
	chains := map[string]*netpath.Chain{}
	for _, id := range []string{"soest", "werl"} {
		chains[id] = mustChain(t, netpath.ChainOptions{
			Channel: id, Clock: clock, Targets: targets,
			OnChange: func(channel, endpoint, network string, from, to netpath.State) {
				mu.Lock()
				defer mu.Unlock()
				changes = append(changes, channel+" "+string(to))
			},
			OnRecover: func(channel string) {
				mu.Lock()
				defer mu.Unlock()
				recovered[channel]++
			},
			Endpoints: []netpath.Endpoint{{Name: "radio", Network: "default", Channel: radio, Target: "webhook radio"}},
		})
	}
	radio.next(reply{err: crier.Gone(errors.New("410 Gone"))})
	chains["soest"].Send(t.Context(), message("k1"))
	if h := chains["werl"].Health()[0]; h.State != netpath.StateGone {
		t.Errorf("werl's endpoint after soest's 410: %s, want gone", h.State)
	}
	if err := chains["werl"].Reset("radio"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(changes)
	if diff := cmp.Diff([]string{"soest closed", "soest gone", "werl closed", "werl gone"}, changes); diff != "" {
		t.Errorf("OnChange (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"soest": 1, "werl": 1}, recovered); diff != "" {
		t.Errorf("OnRecover (-want +got):\n%s", diff)
	}
}
