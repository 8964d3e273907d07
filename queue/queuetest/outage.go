package queuetest

import (
	"context"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// testPins checks that an unknown outcome through a named endpoint pins
// the delivery there, that the pin comes with every later claim (it must
// outlive a restart of the workers), that later attempts of other kinds
// and attempts without an endpoint keep it, and that a person's retry
// clears it.
func testPins(t *testing.T, b Backend) {
	mustCreate(t, b, newPlan("ann-1", []string{"soest"}, radio), "", t0)
	j := mustClaim(t, b, nil, 1, t0, lease)[0]
	if j.Message.Pin != "" {
		t.Fatalf("a fresh delivery is pinned to %q", j.Message.Pin)
	}
	fail := func(j *crier.Job, code, endpoint string, now time.Time) {
		mustComplete(t, b, []*crier.Outcome{{Delivery: j.Delivery.ID, Lease: j.Lease, State: crier.StateQueued, NextAt: now,
			Attempt: &crier.Attempt{Delivery: j.Delivery.ID, Started: now, Finished: now, ErrorCode: code, Error: code,
				Endpoint: endpoint}}}, now)
	}
	fail(j, crier.ETRANSIENT, "radio-primary", t0.Add(time.Second))
	j = mustClaim(t, b, nil, 1, t0.Add(time.Second), lease)[0]
	if j.Message.Pin != "" {
		t.Fatalf("a transient failure pinned the delivery to %q", j.Message.Pin)
	}
	fail(j, crier.EUNKNOWN, "radio-primary", t0.Add(2*time.Second))
	for i, next := range []struct{ code, endpoint string }{{crier.ETRANSIENT, "radio-backup"}, {crier.EUNKNOWN, ""}} {
		now := t0.Add(time.Duration(3+i) * time.Second)
		j = mustClaim(t, b, nil, 1, now, lease)[0]
		if j.Message.Pin != "radio-primary" || j.Delivery.Pin != "radio-primary" {
			t.Fatalf("claim %d: pinned to %q (delivery %q), want radio-primary", i, j.Message.Pin, j.Delivery.Pin)
		}
		fail(j, next.code, next.endpoint, now)
	}
	if d := mustDelivery(t, b, "ann-1", j.Delivery.ID); d.Pin != "radio-primary" {
		t.Errorf("delivery pinned to %q, want radio-primary", d.Pin)
	}
	j = mustClaim(t, b, nil, 1, t0.Add(5*time.Second), lease)[0]
	mustComplete(t, b, []*crier.Outcome{{Delivery: j.Delivery.ID, Lease: j.Lease, State: crier.StateUnknown,
		Attempt: &crier.Attempt{Delivery: j.Delivery.ID, ErrorCode: crier.EUNKNOWN, Endpoint: "radio-primary"}}}, t0.Add(6*time.Second))
	if _, err := b.Retry(context.Background(), "ann-1", []crier.State{crier.StateUnknown}, t0.Add(7*time.Second)); err != nil {
		t.Fatal(err)
	}
	j = mustClaim(t, b, nil, 1, t0.Add(7*time.Second), lease)[0]
	if j.Message.Pin != "" {
		t.Errorf("after a person's retry: pinned to %q, want a fresh start", j.Message.Pin)
	}
}

// testHurry checks that Hurry makes the queued deliveries of one channel
// that wait for later due now, and leaves other channels and states alone.
func testHurry(t *testing.T, b Backend) {
	mustCreate(t, b, newPlan("ann-1", []string{"soest", "werl"}, mastodon), "", t0)
	jobs := mustClaim(t, b, nil, 2, t0, lease)
	var outcomes []*crier.Outcome
	for _, j := range jobs {
		outcomes = append(outcomes, &crier.Outcome{Delivery: j.Delivery.ID, Lease: j.Lease, State: crier.StateQueued,
			NextAt: t0.Add(time.Hour)})
	}
	mustComplete(t, b, outcomes, t0)
	soest := byTown(t, jobs, "soest")
	n, err := b.Hurry(context.Background(), soest.Delivery.Channel, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("Hurry = %d, want 1 (the other channel's delivery waits)", n)
	}
	got := mustClaim(t, b, nil, 10, t0.Add(time.Second), lease)
	if len(got) != 1 || got[0].Delivery.ID != soest.Delivery.ID {
		t.Fatalf("claimed %d jobs after Hurry, want soest's only", len(got))
	}
	if got[0].Delivery.Attempts != 0 {
		t.Errorf("attempts %d, want 0: hurrying is no attempt", got[0].Delivery.Attempts)
	}
	if n, err := b.Hurry(context.Background(), soest.Delivery.Channel, t0.Add(2*time.Second)); err != nil || n != 0 {
		t.Errorf("Hurry of a channel with its delivery sending: %d, %v; want 0", n, err)
	}
}
