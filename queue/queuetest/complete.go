package queuetest

import (
	"context"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

var fiveTowns = []string{"soest", "werl", "lippstadt", "warstein", "erwitte"}

// testCompleteStates checks that every kind of outcome is recorded with its
// attempt, and that a retry comes back when it is due.
func testCompleteStates(t *testing.T, b Backend) {
	mustCreate(t, b, newPlan("ann-1", fiveTowns, radio), "", t0)
	jobs := mustClaim(t, b, nil, 10, t0, lease)
	if len(jobs) != 5 {
		t.Fatalf("claimed %d jobs, want 5", len(jobs))
	}
	done := t0.Add(2 * time.Second)
	attempt := func(j *crier.Job, code, msg, remote string) *crier.Attempt {
		a := &crier.Attempt{Delivery: j.Delivery.ID, Started: t0.Add(time.Second), Finished: done,
			Endpoint: "radio-primary", Network: "lte", ErrorCode: code, Error: msg, RemoteID: remote}
		if remote != "" {
			a.URL = "https://radio.example/notices/" + remote
		}
		return a
	}
	soest, werl, lippstadt := byTown(t, jobs, "soest"), byTown(t, jobs, "werl"), byTown(t, jobs, "lippstadt")
	warstein, erwitte := byTown(t, jobs, "warstein"), byTown(t, jobs, "erwitte")
	outcomes := []*crier.Outcome{
		{Delivery: soest.Delivery.ID, Lease: soest.Lease, State: crier.StateSent, Attempt: attempt(soest, "", "", "n-1")},
		{Delivery: werl.Delivery.ID, Lease: werl.Lease, State: crier.StateQueued, NextAt: t0.Add(5 * time.Minute),
			Attempt: attempt(werl, crier.ETRANSIENT, "503 Service Unavailable", "")},
		{Delivery: lippstadt.Delivery.ID, Lease: lippstadt.Lease, State: crier.StateFailed,
			Attempt: attempt(lippstadt, crier.EPERMANENT, "422 Unprocessable Entity", "")},
		{Delivery: warstein.Delivery.ID, Lease: warstein.Lease, State: crier.StateUnknown,
			Attempt: attempt(warstein, crier.EUNKNOWN, "timeout after the request was written", "")},
		{Delivery: erwitte.Delivery.ID, Lease: erwitte.Lease, State: crier.StateExpired},
	}
	if stale := mustComplete(t, b, outcomes, done); stale != 0 {
		t.Fatalf("stale = %d, want 0", stale)
	}

	want := func(j *crier.Job, state crier.State, attempts int, nextAt time.Time, a *crier.Attempt) *crier.Delivery {
		d := *j.Delivery
		d.State, d.Attempts, d.NextAt, d.UpdatedAt = state, attempts, nextAt, done
		if a != nil {
			d.ErrorCode, d.Error, d.RemoteID, d.URL, d.Endpoint = a.ErrorCode, a.Error, a.RemoteID, a.URL, a.Endpoint
			d.Ambiguous = a.ErrorCode == crier.EUNKNOWN // and it stays so, see testAmbiguous
			if d.Ambiguous {
				d.Pin = a.Endpoint // where the key may be remembered, see testPins
			}
		}
		return &d
	}
	diff(t, "deliveries", []*crier.Delivery{
		want(soest, crier.StateSent, 1, t0, outcomes[0].Attempt),
		want(werl, crier.StateQueued, 1, t0.Add(5*time.Minute), outcomes[1].Attempt),
		want(lippstadt, crier.StateFailed, 1, t0, outcomes[2].Attempt),
		want(warstein, crier.StateUnknown, 1, t0, outcomes[3].Attempt),
		want(erwitte, crier.StateExpired, 0, t0, nil),
	}, mustDeliveries(t, b, crier.DeliveryFilter{Announcement: "ann-1"}), sortDeliveries)
	for _, o := range outcomes {
		var wantAttempts []*crier.Attempt
		if o.Attempt != nil {
			wantAttempts = []*crier.Attempt{o.Attempt}
		}
		diff(t, "attempts", wantAttempts, mustAttempts(t, b, o.Delivery))
	}
	diff(t, "depth", map[string]int{"webhook": 1}, mustDepth(t, b))

	// The retry is due at t0+5m, not before.
	if jobs := mustClaim(t, b, nil, 10, t0.Add(5*time.Minute-time.Millisecond), lease); len(jobs) != 0 {
		t.Fatalf("claimed %d jobs before the retry was due", len(jobs))
	}
	retry := mustClaim(t, b, nil, 10, t0.Add(5*time.Minute), lease)
	if len(retry) != 1 || retry[0].Delivery.ID != werl.Delivery.ID || retry[0].Reclaimed {
		t.Fatalf("claim at t0+5m = %+v, want werl's retry", retry)
	}
	if m := retry[0].Message; m.Attempt != 2 || !m.FirstAttempt.Equal(t0) {
		t.Errorf("retry: attempt %d, first attempt %s; want 2, %s", m.Attempt, m.FirstAttempt, t0)
	}
	second := sent(retry[0], t0.Add(5*time.Minute))
	mustComplete(t, b, []*crier.Outcome{second}, t0.Add(5*time.Minute))
	d := mustDelivery(t, b, "ann-1", werl.Delivery.ID)
	if d.State != crier.StateSent || d.Attempts != 2 || d.ErrorCode != "" || d.Error != "" || d.RemoteID != second.Attempt.RemoteID {
		t.Errorf("after the retry: %+v; want sent after 2 attempts, no error, the remote id", d)
	}
	diff(t, "attempts after the retry", []*crier.Attempt{outcomes[1].Attempt, second.Attempt}, mustAttempts(t, b, werl.Delivery.ID))
	diff(t, "depth", map[string]int{}, mustDepth(t, b))
	diff(t, "counts", []crier.Count{
		{Town: "erwitte", Channel: "radio", State: crier.StateExpired, N: 1},
		{Town: "lippstadt", Channel: "radio", State: crier.StateFailed, N: 1},
		{Town: "soest", Channel: "radio", State: crier.StateSent, N: 1},
		{Town: "warstein", Channel: "radio", State: crier.StateUnknown, N: 1},
		{Town: "werl", Channel: "radio", State: crier.StateSent, N: 1},
	}, mustCounts(t, b, "ann-1"))
}

// testCompleteBatch checks a large batch in one call, with a repeated
// outcome in it that must count as stale.
func testCompleteBatch(t *testing.T, b Backend) {
	mustSubscribe(t, b, "lippstadt", crier.SubscriberConfirmed, addresses("lippstadt", 300)...)
	mustCreate(t, b, newPlan("ann-1", []string{"lippstadt"}, mail), "", t0)
	var jobs []*crier.Job
	for range 3 {
		jobs = append(jobs, mustClaim(t, b, []string{"email"}, 100, t0, lease)...)
		if len(jobs) == 100 {
			diff(t, "counts while claimed", []crier.Count{
				{Town: "lippstadt", Channel: "mail-lippstadt", State: crier.StateQueued, N: 200},
				{Town: "lippstadt", Channel: "mail-lippstadt", State: crier.StateSending, N: 100},
			}, mustCounts(t, b, "ann-1"))
		}
	}
	if len(jobs) != 300 {
		t.Fatalf("claimed %d jobs, want 300", len(jobs))
	}
	outcomes := make([]*crier.Outcome, 0, len(jobs)+1)
	for _, j := range jobs {
		outcomes = append(outcomes, sent(j, t0.Add(time.Second)))
	}
	outcomes = append(outcomes, outcomes[17])
	if stale := mustComplete(t, b, outcomes, t0.Add(time.Second)); stale != 1 {
		t.Errorf("stale = %d, want 1 for the repeated outcome", stale)
	}
	diff(t, "counts", []crier.Count{{Town: "lippstadt", Channel: "mail-lippstadt", State: crier.StateSent, N: 300}},
		mustCounts(t, b, "ann-1"))
	if as := mustAttempts(t, b, jobs[17].Delivery.ID); len(as) != 1 {
		t.Errorf("the repeated outcome recorded %d attempts, want 1", len(as))
	}
	if d := mustDelivery(t, b, "ann-1", jobs[17].Delivery.ID); d.Attempts != 1 {
		t.Errorf("the repeated outcome counted %d attempts, want 1", d.Attempts)
	}
}

// testCompleteInvalid checks that an outcome that would leave a delivery
// sending without a lease is refused, and the batch with it.
func testCompleteInvalid(t *testing.T, b Backend) {
	mustCreate(t, b, newPlan("ann-1", []string{"soest", "werl"}, radio), "", t0)
	jobs := mustClaim(t, b, nil, 2, t0, lease)
	for _, state := range []crier.State{crier.StateSending, crier.StateWaiting, "delivered"} {
		bad := &crier.Outcome{Delivery: jobs[1].Delivery.ID, Lease: jobs[1].Lease, State: state}
		_, err := b.Complete(context.Background(), []*crier.Outcome{sent(jobs[0], t0), bad}, t0)
		wantCode(t, err, crier.EINVALID)
	}
	if ds := mustDeliveries(t, b, crier.DeliveryFilter{State: crier.StateSending}); len(ds) != 2 {
		t.Errorf("%d deliveries still sending after a refused batch, want 2", len(ds))
	}
}

// testRelease checks that released jobs are queued again without an
// attempt, and that a release under a lost lease changes nothing.
func testRelease(t *testing.T, b Backend) {
	mustCreate(t, b, newPlan("ann-1", []string{"soest", "werl"}, radio), "", t0)
	jobs := mustClaim(t, b, nil, 2, t0, lease)
	if err := b.Release(context.Background(), jobs[:1]); err != nil {
		t.Fatal(err)
	}
	d := mustDelivery(t, b, "ann-1", jobs[0].Delivery.ID)
	if d.State != crier.StateQueued || d.Attempts != 0 || !d.NextAt.Equal(t0) {
		t.Errorf("released delivery: %+v; want queued, due at t0, no attempt", d)
	}
	again := mustClaim(t, b, nil, 2, t0, lease)
	if len(again) != 1 || again[0].Delivery.ID != jobs[0].Delivery.ID || again[0].Reclaimed || again[0].Message.Attempt != 1 {
		t.Fatalf("claim after release = %+v, want the released job as a fresh claim", again)
	}
	if err := b.Release(context.Background(), jobs[:1]); err != nil {
		t.Fatal(err)
	}
	if d := mustDelivery(t, b, "ann-1", jobs[0].Delivery.ID); d.State != crier.StateSending {
		t.Errorf("release under a lost lease changed the state to %s", d.State)
	}
	if stale := mustComplete(t, b, []*crier.Outcome{sent(jobs[0], t0)}, t0); stale != 1 {
		t.Errorf("completing a released job: stale = %d, want 1", stale)
	}
}

// testRecover checks that Recover expires every lease at once.
func testRecover(t *testing.T, b Backend) {
	mustCreate(t, b, newPlan("ann-1", fiveTowns, radio), "", t0)
	jobs := mustClaim(t, b, nil, 3, t0, time.Hour)
	n, err := b.Recover(context.Background())
	if err != nil || n != 3 {
		t.Fatalf("Recover = %d, %v; want 3", n, err)
	}
	again := mustClaim(t, b, nil, 10, t0, time.Hour)
	reclaimed := 0
	for _, j := range again {
		if j.Reclaimed {
			reclaimed++
		}
	}
	if len(again) != 5 || reclaimed != 3 {
		t.Errorf("claim after Recover: %d jobs, %d reclaimed; want 5 and 3", len(again), reclaimed)
	}
	if stale := mustComplete(t, b, []*crier.Outcome{sent(jobs[0], t0)}, t0); stale != 1 {
		t.Errorf("outcome under a recovered lease: stale = %d, want 1", stale)
	}
	outcomes := make([]*crier.Outcome, len(again))
	for i, j := range again {
		outcomes[i] = sent(j, t0)
	}
	mustComplete(t, b, outcomes, t0)
	if n, err := b.Recover(context.Background()); err != nil || n != 0 {
		t.Errorf("Recover with nothing sending = %d, %v; want 0", n, err)
	}
}

// testRetry checks that a person's retry queues the chosen final states
// afresh and leaves the others alone.
func testRetry(t *testing.T, b Backend) {
	ctx := context.Background()
	mustCreate(t, b, newPlan("ann-1", fiveTowns[:4], radio), "", t0)
	jobs := mustClaim(t, b, nil, 4, t0, lease)
	states := map[string]crier.State{"soest": crier.StateSent, "werl": crier.StateFailed, "lippstadt": crier.StateUnknown, "warstein": crier.StateExpired}
	var outcomes []*crier.Outcome
	for _, j := range jobs {
		o := sent(j, t0)
		o.State = states[j.Delivery.Town]
		if o.State != crier.StateSent {
			o.Attempt.ErrorCode, o.Attempt.Error = crier.EPERMANENT, "refused"
		}
		outcomes = append(outcomes, o)
	}
	mustComplete(t, b, outcomes, t0)

	_, err := b.Retry(ctx, "ann-1", []crier.State{crier.StateFailed, crier.StateQueued}, t0)
	wantCode(t, err, crier.EINVALID)
	_, err = b.Retry(ctx, "ann-1", []crier.State{crier.StateSending}, t0)
	wantCode(t, err, crier.EINVALID)
	_, err = b.Retry(ctx, "ann-unknown", []crier.State{crier.StateFailed}, t0)
	wantCode(t, err, crier.ENOTFOUND)

	later := t0.Add(10 * time.Minute)
	n, err := b.Retry(ctx, "ann-1", []crier.State{crier.StateFailed, crier.StateUnknown}, later)
	if err != nil || n != 2 {
		t.Fatalf("Retry = %d, %v; want 2", n, err)
	}
	got := make(map[string]*crier.Delivery)
	for _, d := range mustDeliveries(t, b, crier.DeliveryFilter{Announcement: "ann-1"}) {
		got[d.Town] = d
	}
	for _, town := range []string{"werl", "lippstadt"} {
		d := got[town]
		if d.State != crier.StateQueued || d.Attempts != 0 || !d.FirstAttempt.IsZero() || d.ErrorCode != "" || d.Error != "" || !d.NextAt.Equal(later) {
			t.Errorf("retried %s: %+v; want queued at %s with attempts, first attempt and error cleared", town, d, later)
		}
		if as := mustAttempts(t, b, d.ID); len(as) != 1 {
			t.Errorf("retried %s: %d attempts in the history, want the earlier 1 kept", town, len(as))
		}
	}
	if got["soest"].State != crier.StateSent || got["warstein"].State != crier.StateExpired {
		t.Errorf("retry changed states it was not asked to: soest %s, warstein %s", got["soest"].State, got["warstein"].State)
	}
	retried := mustClaim(t, b, nil, 10, later, lease)
	if len(retried) != 2 {
		t.Fatalf("claimed %d retried jobs, want 2", len(retried))
	}
	for _, j := range retried {
		if j.Message.Attempt != 1 || !j.Message.FirstAttempt.Equal(later) || j.Reclaimed {
			t.Errorf("retried job %s: attempt %d, first attempt %s, reclaimed %t; want 1, %s, false",
				j.Delivery.Key, j.Message.Attempt, j.Message.FirstAttempt, j.Reclaimed, later)
		}
	}
}

// testDepth checks that queued and sending deliveries count, per type.
func testDepth(t *testing.T, b Backend) {
	diff(t, "empty depth", map[string]int{}, mustDepth(t, b))
	mustSubscribe(t, b, "erwitte", crier.SubscriberConfirmed, addresses("erwitte", 2)...)
	mustCreate(t, b, newPlan("ann-1", []string{"erwitte", "warstein"}, mail, radio, mastodon), "", t0)
	diff(t, "depth", map[string]int{"email": 2, "webhook": 2, "mastodon": 2}, mustDepth(t, b))
	jobs := mustClaim(t, b, []string{"mastodon"}, 2, t0, lease)
	diff(t, "depth while sending", map[string]int{"email": 2, "webhook": 2, "mastodon": 2}, mustDepth(t, b))
	mustComplete(t, b, []*crier.Outcome{sent(jobs[0], t0)}, t0)
	diff(t, "depth after one sent", map[string]int{"email": 2, "webhook": 2, "mastodon": 1}, mustDepth(t, b))
}

// testExchange checks that Exchange records outcomes and claims new jobs in
// one call, that it never hands back a job it just recorded, and that it
// reports stale outcomes like Complete.
func testExchange(t *testing.T, b Backend) {
	mustSubscribe(t, b, "werl", crier.SubscriberConfirmed, addresses("werl", 10)...)
	mustCreate(t, b, newPlan("ann-1", []string{"werl"}, mail), "", t0)
	first := mustClaim(t, b, []string{"email"}, 4, t0, lease)
	if len(first) != 4 {
		t.Fatalf("claimed %d jobs, want 4", len(first))
	}
	var outcomes []*crier.Outcome
	for _, j := range first {
		outcomes = append(outcomes, sent(j, t0.Add(time.Second)))
	}
	outcomes = append(outcomes, outcomes[0]) // repeated: stale
	next, stale, err := b.Exchange(context.Background(), outcomes, []string{"email"}, 10, t0.Add(time.Second), lease)
	if err != nil {
		t.Fatal(err)
	}
	if stale != 1 {
		t.Errorf("stale = %d, want 1", stale)
	}
	if len(next) != 6 {
		t.Fatalf("exchange claimed %d jobs, want the 6 left", len(next))
	}
	done := map[int64]bool{}
	for _, j := range first {
		done[j.Delivery.ID] = true
	}
	for _, j := range next {
		if done[j.Delivery.ID] {
			t.Errorf("exchange handed back delivery %d it had just recorded", j.Delivery.ID)
		}
		if j.Message == nil || j.Message.Key != j.Delivery.Key {
			t.Errorf("job %d without its message", j.Delivery.ID)
		}
	}
	diff(t, "counts", []crier.Count{
		{Town: "werl", Channel: "mail-werl", State: crier.StateSending, N: 6},
		{Town: "werl", Channel: "mail-werl", State: crier.StateSent, N: 4},
	}, mustCounts(t, b, "ann-1"))

	// With n = 0 it only records.
	outcomes = outcomes[:0]
	for _, j := range next {
		outcomes = append(outcomes, sent(j, t0.Add(2*time.Second)))
	}
	more, stale, err := b.Exchange(context.Background(), outcomes, []string{"email"}, 0, t0.Add(2*time.Second), lease)
	if err != nil || stale != 0 || len(more) != 0 {
		t.Fatalf("record-only exchange: %d jobs, %d stale, %v", len(more), stale, err)
	}
	diff(t, "counts", []crier.Count{{Town: "werl", Channel: "mail-werl", State: crier.StateSent, N: 10}}, mustCounts(t, b, "ann-1"))
}

// testAmbiguous checks that a delivery stays marked ambiguous once an
// attempt ended with an unknown outcome, through later attempts of other
// kinds, that claimed messages carry the mark, and that a person's retry
// clears it.
func testAmbiguous(t *testing.T, b Backend) {
	mustCreate(t, b, newPlan("ann-1", []string{"soest"}, radio), "", t0)
	j := mustClaim(t, b, nil, 1, t0, lease)[0]
	if j.Message.Ambiguous {
		t.Fatal("a fresh delivery is marked ambiguous")
	}
	fail := func(j *crier.Job, code string, now time.Time) {
		mustComplete(t, b, []*crier.Outcome{{Delivery: j.Delivery.ID, Lease: j.Lease, State: crier.StateQueued, NextAt: now,
			Attempt: &crier.Attempt{Delivery: j.Delivery.ID, Started: now, Finished: now, ErrorCode: code, Error: code}}}, now)
	}
	fail(j, crier.EUNKNOWN, t0.Add(time.Second))
	j = mustClaim(t, b, nil, 1, t0.Add(time.Second), lease)[0]
	if !j.Message.Ambiguous || !j.Delivery.Ambiguous {
		t.Fatal("after an unknown outcome the claimed message is not marked ambiguous")
	}
	fail(j, crier.ETRANSIENT, t0.Add(2*time.Second))
	j = mustClaim(t, b, nil, 1, t0.Add(2*time.Second), lease)[0]
	if !j.Message.Ambiguous {
		t.Fatal("a transient failure after an unknown outcome cleared the mark")
	}
	mustComplete(t, b, []*crier.Outcome{{Delivery: j.Delivery.ID, Lease: j.Lease, State: crier.StateUnknown,
		Attempt: &crier.Attempt{Delivery: j.Delivery.ID, ErrorCode: crier.EUNKNOWN}}}, t0.Add(3*time.Second))
	if _, err := b.Retry(context.Background(), "ann-1", []crier.State{crier.StateUnknown}, t0.Add(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	j = mustClaim(t, b, nil, 1, t0.Add(4*time.Second), lease)[0]
	if j.Message.Ambiguous || !j.Message.FirstAttempt.Equal(t0.Add(4*time.Second)) {
		t.Errorf("after a person's retry: ambiguous %v, first attempt %v; want a fresh start", j.Message.Ambiguous, j.Message.FirstAttempt)
	}
}
