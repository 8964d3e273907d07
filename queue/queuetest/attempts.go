package queuetest

import (
	"context"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// testAttemptHistory checks that every attempt of a delivery stays listed,
// oldest first, through retries after failures, an outcome without an
// attempt, a person's retry of a final delivery, and a revision that
// replaces the delivery while it waits for its next try.
func testAttemptHistory(t *testing.T, b Backend) {
	ctx := context.Background()
	mustCreate(t, b, newPlan("ann-1", []string{"soest", "werl"}, radio), "", t0)
	failed := func(j *crier.Job, state crier.State, at time.Time, msg string) *crier.Outcome {
		return &crier.Outcome{Delivery: j.Delivery.ID, Lease: j.Lease, State: state, NextAt: at.Add(time.Minute),
			Attempt: &crier.Attempt{Delivery: j.Delivery.ID, Started: at, Finished: at.Add(time.Millisecond),
				Endpoint: "radio-primary", Network: "lte", ErrorCode: crier.ETRANSIENT, Error: msg}}
	}
	var want = map[string][]*crier.Attempt{}
	record := func(town string, o *crier.Outcome, now time.Time) {
		t.Helper()
		if stale := mustComplete(t, b, []*crier.Outcome{o}, now); stale != 0 {
			t.Fatalf("%s: stale outcome", town)
		}
		if o.Attempt != nil {
			want[town] = append(want[town], o.Attempt)
		}
	}
	claim := func(town string, now time.Time) *crier.Job {
		t.Helper()
		jobs := mustClaim(t, b, nil, 10, now, lease)
		for _, j := range jobs {
			if j.Delivery.Town != town {
				t.Fatalf("claimed %s's delivery at %s, want only %s's", j.Delivery.Town, now, town)
			}
		}
		if len(jobs) != 1 {
			t.Fatalf("claimed %d jobs at %s, want %s's", len(jobs), now, town)
		}
		return jobs[0]
	}
	check := func(town string, id int64) {
		t.Helper()
		diff(t, town+"'s attempts", want[town], mustAttempts(t, b, id))
	}

	jobs := mustClaim(t, b, nil, 10, t0, lease)
	soest, werl := byTown(t, jobs, "soest"), byTown(t, jobs, "werl")
	at := t0.Add(time.Second)
	record("soest", failed(soest, crier.StateQueued, at, "503 Service Unavailable"), at)
	later := failed(werl, crier.StateQueued, at, "502 Bad Gateway")
	later.NextAt = t0.Add(time.Hour) // after everything Soest goes through
	record("werl", later, at)

	// Soest: a second failure, then expired without an attempt, then a
	// person's retry and a success.
	at = t0.Add(time.Minute + time.Second)
	j := claim("soest", at)
	record("soest", failed(j, crier.StateQueued, at, "504 Gateway Timeout"), at)
	check("soest", soest.Delivery.ID)
	at = t0.Add(2*time.Minute + time.Second)
	j = claim("soest", at)
	record("soest", &crier.Outcome{Delivery: j.Delivery.ID, Lease: j.Lease, State: crier.StateExpired}, at)
	check("soest", soest.Delivery.ID)
	if n, err := b.Retry(ctx, "ann-1", []crier.State{crier.StateExpired}, at); err != nil || n != 1 {
		t.Fatalf("Retry = %d, %v; want 1 delivery", n, err)
	}
	check("soest", soest.Delivery.ID)
	if d := mustDelivery(t, b, "ann-1", soest.Delivery.ID); d.Attempts != 0 || d.Error != "" {
		t.Errorf("after the retry: %d attempts, error %q; want both cleared", d.Attempts, d.Error)
	}
	j = claim("soest", at)
	record("soest", sent(j, at), at)
	check("soest", soest.Delivery.ID)

	// Werl: the update replaces the delivery while it waits for its next
	// try; its failed attempt stays listed, the row says why it was
	// canceled.
	mustCreate(t, b, revise(newPlan("ann-1", []string{"soest", "werl"}, radio), crier.EventUpdated), "", at)
	d := mustDelivery(t, b, "ann-1", werl.Delivery.ID)
	if d.State != crier.StateCanceled || d.Error != "replaced by revision 2 before it was sent" {
		t.Errorf("werl after the update: %s %q; want canceled as replaced", d.State, d.Error)
	}
	check("werl", werl.Delivery.ID)
	if len(want["soest"]) != 3 || len(want["werl"]) != 1 {
		t.Fatalf("the test recorded %d and %d attempts, want 3 and 1", len(want["soest"]), len(want["werl"]))
	}
}

// testAttemptWithoutTimes checks that an attempt whose times are missing
// is recorded as started and finished when its outcome was recorded.
func testAttemptWithoutTimes(t *testing.T, b Backend) {
	mustCreate(t, b, newPlan("ann-1", []string{"soest"}, radio), "", t0)
	j := mustClaim(t, b, nil, 10, t0, lease)[0]
	at := t0.Add(time.Second)
	mustComplete(t, b, []*crier.Outcome{{Delivery: j.Delivery.ID, Lease: j.Lease, State: crier.StateSent,
		Attempt: &crier.Attempt{Endpoint: "radio-primary", RemoteID: "n-1"}}}, at)
	diff(t, "attempts", []*crier.Attempt{{Delivery: j.Delivery.ID, Started: at, Finished: at,
		Endpoint: "radio-primary", RemoteID: "n-1"}}, mustAttempts(t, b, j.Delivery.ID))
}
