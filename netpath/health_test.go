package netpath_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/netpath"
)

func TestHealth(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	w := newWorld(t, ep("social.example", "default", primary), ep("backup.example via lte", "lte", backup))
	want := []netpath.EndpointHealth{
		{Channel: "radio", Endpoint: "social.example", Network: "default", State: netpath.StateClosed},
		{Channel: "radio", Endpoint: "backup.example via lte", Network: "lte", State: netpath.StateClosed},
	}
	if diff := cmp.Diff(want, w.chain.Health()); diff != "" {
		t.Errorf("fresh chain (-want +got):\n%s", diff)
	}

	primary.always(transient("dial tcp: connection refused", 0))
	backup.always(reply{do: func() { w.clock.Advance(40 * time.Millisecond) }})
	for _, k := range []string{"k1", "k2", "k3"} {
		w.mustSend(t, k, "backup.example via lte")
	}
	if got := w.chain.Health()[1].Latency; got != 40*time.Millisecond {
		t.Errorf("backup latency %v, want 40ms on the injected clock", got)
	}
	backup.always(reply{})
	w.clock.Advance(time.Minute)
	w.chain.Probe(context.Background()) // the backup answers, the primary's probe succeeds too
	now := w.clock.Now()
	want = []netpath.EndpointHealth{
		{
			Channel: "radio", Endpoint: "social.example", Network: "default", State: netpath.StateClosed,
			LastError: "dial tcp: connection refused", LastChange: now, LastProbe: now,
		},
		{
			Channel: "radio", Endpoint: "backup.example via lte", Network: "lte", State: netpath.StateClosed,
			LastProbe: now,
		},
	}
	// The primary went closed → open → half-open → closed: the last change is the probe's.
	if diff := cmp.Diff(want, w.chain.Health()); diff != "" {
		t.Errorf("after recovery (-want +got):\n%s", diff)
	}

	primary.always(transient("dial tcp: connection refused", 0))
	for _, k := range []string{"k4", "k5", "k6"} {
		w.mustSend(t, k, "backup.example via lte")
	}
	h := w.chain.Health()
	wantOpen := netpath.EndpointHealth{
		Channel: "radio", Endpoint: "social.example", Network: "default", State: netpath.StateOpen, Failures: 3,
		LastError: "dial tcp: connection refused", LastChange: now, LastProbe: now, Until: now.Add(netpath.DefaultCoolDown),
	}
	if diff := cmp.Diff(wantOpen, h[0]); diff != "" {
		t.Errorf("open primary (-want +got):\n%s", diff)
	}

	b, err := json.Marshal(h[0])
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{"channel", "endpoint", "network", "state", "failures", "last_error", "last_change", "last_probe", "latency", "until", "in_flight", "pinned"}
	var gotKeys []string
	for k := range keys {
		gotKeys = append(gotKeys, k)
	}
	if diff := cmp.Diff(wantKeys, gotKeys, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("JSON keys (-want +got):\n%s", diff)
	}
}

// TestHealthHalfOpens: once the cool-down is over, Health reports the
// breaker half-open, and reports the change once.
func TestHealthHalfOpens(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	w := newWorld(t, ep("p", "default", primary), ep("b", "lte", backup))
	primary.always(transient("refused", 0))
	for _, k := range []string{"k1", "k2", "k3"} {
		w.send(k)
	}
	w.clock.Advance(netpath.DefaultCoolDown)
	for range 2 {
		if h := w.chain.Health()[0]; h.State != netpath.StateHalfOpen || !h.Until.IsZero() {
			t.Errorf("after the cool-down: %s until %v, want half-open", h.State, h.Until)
		}
	}
	if n := len(w.gotChanges()); n != 2 {
		t.Errorf("%d changes, want 2 (open, half-open): %v", n, w.gotChanges())
	}
}

func TestProbe(t *testing.T) {
	ok, down, refused, plain, none := newRemote("ok"), newRemote("down"), newRemote("refused"), newRemote("plain"), newRemote("none")
	none.probed(crier.ErrNoProbe, crier.ErrNoProbe, crier.ErrNoProbe, crier.ErrNoProbe)
	w := newWorld(t,
		ep("ok", "default", ok),
		ep("down", "lte", down),
		ep("refused", "default", refused),
		ep("plain", "default", sendOnly{plain}),
		ep("none", "relay", none),
	)
	unreachable := crier.Transient(errors.New("dial tcp: connection refused"), 0)
	revoked := crier.Permanent(errors.New("401 Unauthorized: the access token was revoked"))
	down.probed(unreachable, unreachable, unreachable)
	refused.probed(revoked, revoked, revoked)

	got := w.chain.Probe(context.Background())
	want := []netpath.ProbeResult{
		{Endpoint: "ok", Network: "default", OK: true},
		{Endpoint: "down", Network: "lte", Err: unreachable},
		{Endpoint: "refused", Network: "default", Err: revoked},
		{Endpoint: "plain", Network: "default", Skipped: true},
		{Endpoint: "none", Network: "relay", Skipped: true},
	}
	opt := cmp.Comparer(func(a, b error) bool { return a == b })
	if diff := cmp.Diff(want, got, opt); diff != "" {
		t.Errorf("Probe (-want +got):\n%s", diff)
	}
	states := func() []string {
		var out []string
		for _, h := range w.chain.Health() {
			s := string(h.State) + "/" + string(rune('0'+h.Failures))
			if h.Refused != "" {
				s += " refused"
			}
			out = append(out, s)
		}
		return out
	}
	// A refused probe shows that the endpoint answers: its breaker, which
	// other channels reaching the same place may share, stays closed, but
	// this endpoint is refused until a probe passes.
	if diff := cmp.Diff([]string{"closed/0", "closed/1", "closed/0 refused", "closed/0", "closed/0"}, states()); diff != "" {
		t.Errorf("after one probe (-want +got):\n%s", diff)
	}

	// Failed probes count like failed sends.
	w.chain.Probe(context.Background())
	w.chain.Probe(context.Background())
	if diff := cmp.Diff([]string{"closed/0", "open/3", "closed/0 refused", "closed/0", "closed/0"}, states()); diff != "" {
		t.Errorf("after three probes (-want +got):\n%s", diff)
	}
	// Sends skip what probes found down, without calling them.
	w.mustSend(t, "k1", "ok")
	ok.always(transient("503", 0))
	w.mustSend(t, "k2", "plain")
	if n := len(down.sent()) + len(refused.sent()); n != 0 {
		t.Errorf("open endpoints got %d sends, want 0", n)
	}

	// A successful probe closes an open breaker before its cool-down ends.
	w.clock.Advance(time.Second)
	w.chain.Probe(context.Background())
	if diff := cmp.Diff([]string{"closed/0", "closed/0", "closed/0", "closed/0", "closed/0"}, states()); diff != "" {
		t.Errorf("after a successful probe (-want +got):\n%s", diff)
	}
	for _, c := range w.gotChanges() {
		if c.Endpoint == "down" && c.To == netpath.StateHalfOpen {
			t.Errorf("down went half-open; want closed straight from open: %v", w.gotChanges())
		}
	}
	if n := none.probeCount(); n != 4 {
		t.Errorf("none was probed %d times, want 4", n)
	}
}

// TestProbeHalfOpen: a failed probe of a half-open endpoint opens it for a
// fresh cool-down.
func TestProbeHalfOpen(t *testing.T) {
	primary, backup := newRemote("primary"), newRemote("backup")
	w := newWorld(t, ep("p", "default", primary), ep("b", "lte", backup))
	primary.probed(crier.Transient(errors.New("refused"), 0), crier.Transient(errors.New("refused"), 0),
		crier.Transient(errors.New("refused"), 0), crier.Transient(errors.New("refused"), 0))
	for range 3 {
		w.chain.Probe(context.Background())
	}
	w.clock.Advance(netpath.DefaultCoolDown)
	if got := w.state(t, 0); got != netpath.StateHalfOpen {
		t.Fatalf("%s, want half-open", got)
	}
	w.chain.Probe(context.Background())
	if h := w.chain.Health()[0]; h.State != netpath.StateOpen || !h.Until.Equal(w.clock.Now().Add(netpath.DefaultCoolDown)) {
		t.Errorf("after a failed probe: %s until %v, want open for a fresh cool-down", h.State, h.Until)
	}
}

// TestProbeInParallel: every endpoint is probed at once, so that one that
// hangs does not delay the others.
func TestProbeInParallel(t *testing.T) {
	a, b := newRemote("a"), newRemote("b")
	gate := make(chan struct{})
	a.gate, b.gate = gate, gate
	started := make(chan struct{}, 2)
	a.probing, b.probing = started, started
	w := newWorld(t, ep("a", "default", a), ep("b", "lte", b))
	done := make(chan []netpath.ProbeResult, 1)
	go func() { done <- w.chain.Probe(context.Background()) }()
	deadline := time.After(bound)
	for i := range 2 {
		select {
		case <-started:
		case <-deadline:
			t.Fatalf("%d probes under way while the first is held, want both", i)
		}
	}
	close(gate)
	if rs := <-done; !rs[0].OK || !rs[1].OK {
		t.Errorf("results %+v, want both OK", rs)
	}
}

// TestProbeCanceled: a probe round canceled by its caller changes no
// breaker.
func TestProbeCanceled(t *testing.T) {
	a := newRemote("a")
	a.gate = make(chan struct{})
	w := newWorld(t, ep("a", "default", a))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rs := w.chain.Probe(ctx)
	if rs[0].OK || crier.ErrorCode(rs[0].Err) != crier.ETRANSIENT {
		t.Errorf("result %+v, want a transient error", rs[0])
	}
	if h := w.chain.Health()[0]; h.Failures != 0 || !h.LastProbe.IsZero() {
		t.Errorf("health %+v after a canceled probe, want unchanged", h)
	}
}

func TestProberProbeOnce(t *testing.T) {
	a1, a2, b1 := newRemote("a1"), newRemote("a2"), newRemote("b1")
	wa := newWorld(t, ep("a1", "default", a1), ep("a2", "lte", a2))
	wb := newWorld(t, ep("b1", "default", b1))
	a2.probed(crier.Transient(errors.New("no route to host"), 0))
	p := &netpath.Prober{Chains: []*netpath.Chain{wa.chain, wb.chain}, Interval: time.Hour}
	rs := p.ProbeOnce(context.Background())
	if len(rs) != 2 || len(rs[0]) != 2 || len(rs[1]) != 1 {
		t.Fatalf("results %+v, want 2 and 1 per chain", rs)
	}
	if !rs[0][0].OK || rs[0][1].OK || !rs[1][0].OK {
		t.Errorf("results %+v, want a1 and b1 OK, a2 not", rs)
	}
	if !strings.Contains(rs[0][1].Err.Error(), "no route to host") {
		t.Errorf("a2 error %v", rs[0][1].Err)
	}
	if h := wa.chain.Health()[1]; h.Failures != 1 || h.LastProbe.IsZero() {
		t.Errorf("a2 health %+v, want the failed probe recorded", h)
	}
	if n := a1.probeCount() + a2.probeCount() + b1.probeCount(); n != 3 {
		t.Errorf("%d probes, want 3", n)
	}
}

// TestProberRun: Run probes right away, and returns nil once its context
// is done.
func TestProberRun(t *testing.T) {
	a := newRemote("a")
	a.probing = make(chan struct{}, 4)
	w := newWorld(t, ep("a", "default", a))
	p := &netpath.Prober{Chains: []*netpath.Chain{w.chain}, Interval: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	select {
	case <-a.probing:
	case <-time.After(bound):
		t.Fatal("Run did not probe right away")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(bound):
		t.Fatal("Run did not return after its context was canceled")
	}
	if n := a.probeCount(); n != 1 {
		t.Errorf("%d probes, want 1 within an hour's interval", n)
	}
}
