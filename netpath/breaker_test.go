package netpath

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crierhq/crier/channels/channeltest"
)

var t0 = time.Date(2023, 10, 30, 6, 0, 0, 0, time.UTC)

// testBreaker returns a breaker with opts on a fake clock at t0, and the
// transitions it reports.
func testBreaker(opts BreakerOptions) (*breaker, *channeltest.Clock, *[]transition) {
	clock := channeltest.NewClock(t0)
	var got []transition
	b := newBreaker(opts, clock, func(t transition) { got = append(got, t) })
	return b, clock, &got
}

func fail(tk ticket) result {
	return result{verdict: failed, err: errors.New("connection refused"), ticket: tk}
}

func mustAdmit(t *testing.T, b *breaker) ticket {
	t.Helper()
	tk, why := b.admit()
	if why != "" {
		t.Fatalf("admit: skipped (%s), want admitted", why)
	}
	return tk
}

func mustSkip(t *testing.T, b *breaker) string {
	t.Helper()
	_, why := b.admit()
	if why == "" {
		t.Fatal("admit: admitted, want skipped")
	}
	return why
}

func TestBreakerOptions(t *testing.T) {
	b, clock, got := testBreaker(BreakerOptions{Failures: 2, CoolDown: time.Minute})
	b.record(fail(mustAdmit(t, b)))
	if b.state != StateClosed {
		t.Fatalf("after 1 of 2 failures: %s", b.state)
	}
	clock.Advance(time.Second)
	b.record(fail(mustAdmit(t, b)))
	if b.state != StateOpen || !b.openUntil.Equal(t0.Add(time.Second+time.Minute)) {
		t.Fatalf("after 2 of 2 failures: %s until %v, want open until %v", b.state, b.openUntil, t0.Add(time.Second+time.Minute))
	}
	if why := mustSkip(t, b); why != "circuit open for another 1m0s" {
		t.Errorf("skip reason %q", why)
	}
	clock.Advance(time.Minute)
	if b.wait() != 0 || b.state != StateHalfOpen {
		t.Errorf("after the cool-down: %s, wait %v; want half-open, 0", b.state, b.wait())
	}
	want := []transition{
		{from: StateClosed, to: StateOpen, at: t0.Add(time.Second), failures: 2, until: t0.Add(time.Second + time.Minute), err: "connection refused"},
		{from: StateOpen, to: StateHalfOpen, at: t0.Add(time.Second + time.Minute), failures: 2, err: "connection refused"},
	}
	if diff := cmp.Diff(want, *got, cmp.AllowUnexported(transition{})); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
}

func TestBreakerDefaults(t *testing.T) {
	b, clock, _ := testBreaker(BreakerOptions{})
	for range DefaultFailures - 1 {
		b.record(fail(mustAdmit(t, b)))
	}
	if b.state != StateClosed {
		t.Fatalf("after %d failures: %s, want closed", DefaultFailures-1, b.state)
	}
	b.record(fail(mustAdmit(t, b)))
	if b.state != StateOpen {
		t.Fatalf("after %d failures: %s, want open", DefaultFailures, b.state)
	}
	clock.Advance(DefaultCoolDown - 1)
	mustSkip(t, b)
	clock.Advance(1)
	mustAdmit(t, b)
}

// TestBreakerStaleTrial: the outcome of a trial that a probe overtook must
// not end the trial of a later half-open period.
func TestBreakerStaleTrial(t *testing.T) {
	b, clock, _ := testBreaker(BreakerOptions{Failures: 1, CoolDown: time.Minute})
	b.record(fail(mustAdmit(t, b)))
	clock.Advance(time.Minute)
	first := mustAdmit(t, b)
	if !first.trial {
		t.Fatal("the first send after the cool-down is not a trial")
	}
	mustSkip(t, b) // one trial at a time
	// A probe fails meanwhile and opens the breaker again; after another
	// cool-down a new trial starts.
	b.record(result{verdict: failed, probe: true})
	clock.Advance(time.Minute)
	second := mustAdmit(t, b)
	// The first trial ends, canceled: the second is still under way.
	b.record(result{verdict: neutral, ticket: first})
	if why := mustSkip(t, b); why != "circuit half-open, a trial send is under way" {
		t.Errorf("skip reason %q", why)
	}
	b.record(result{verdict: answered, ticket: second})
	if b.state != StateClosed {
		t.Errorf("after the second trial succeeded: %s, want closed", b.state)
	}
}

// TestBreakerNeutralTrial: a canceled trial lets the next send try.
func TestBreakerNeutralTrial(t *testing.T) {
	b, clock, got := testBreaker(BreakerOptions{Failures: 1, CoolDown: time.Minute})
	b.record(fail(mustAdmit(t, b)))
	clock.Advance(time.Minute)
	b.record(result{verdict: neutral, ticket: mustAdmit(t, b)})
	if b.state != StateHalfOpen || b.failures != 1 {
		t.Errorf("after a canceled trial: %s with %d failures, want half-open with 1", b.state, b.failures)
	}
	if tk := mustAdmit(t, b); !tk.trial {
		t.Error("the next send is not a trial")
	}
	if len(*got) != 2 {
		t.Errorf("%d transitions, want 2 (open, half-open)", len(*got))
	}
}

// TestBreakerRetryAfterOutlastsCoolDown: an endpoint that asked for a
// longer pause than the cool-down stays open that long.
func TestBreakerRetryAfterOutlastsCoolDown(t *testing.T) {
	b, clock, _ := testBreaker(BreakerOptions{Failures: 1, CoolDown: time.Minute})
	r := fail(mustAdmit(t, b))
	r.retryAfter = 5 * time.Minute
	b.record(r)
	if b.state != StateOpen || b.wait() != 5*time.Minute {
		t.Fatalf("%s, wait %v; want open for 5m", b.state, b.wait())
	}
	clock.Advance(time.Minute)
	mustSkip(t, b)
	clock.Advance(4 * time.Minute)
	mustAdmit(t, b)
}
