package queuetest

import (
	"context"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// revise returns the plan of the next revision of p with event, as the
// engine would commit it: the same towns and channels.
func revise(p *crier.Plan, event string) *crier.Plan {
	a := *p.Announcement
	a.Revision++
	a.Event = event
	a.Title = "Rathaus ab Montag wieder geöffnet"
	a.CreatedAt = time.Time{}
	next := &crier.Plan{Announcement: &a, Towns: p.Towns}
	for _, m := range p.Messages {
		c := *m
		c.Revision, c.Event = a.Revision, event
		next.Messages = append(next.Messages, &c)
	}
	return next
}

// byRevision returns the deliveries of announcement id in revision rev,
// by key.
func byRevision(tb testing.TB, b Backend, id string, rev int) map[string]*crier.Delivery {
	tb.Helper()
	out := map[string]*crier.Delivery{}
	for _, d := range mustDeliveries(tb, b, crier.DeliveryFilter{Announcement: id}) {
		if d.Revision == rev {
			out[d.Town+"/"+d.Channel+"/"+d.Recipient] = d
		}
	}
	if len(out) == 0 {
		// Every caller checks each delivery; none would check nothing.
		tb.Fatalf("announcement %s has no deliveries in revision %d", id, rev)
	}
	return out
}

// testRevisionQueued checks that an update replaces and a cancel withdraws
// deliveries that were not attempted yet: those never go out.
func testRevisionQueued(t *testing.T, b Backend) {
	mustSubscribe(t, b, "soest", crier.SubscriberConfirmed, addresses("soest", 2)...)
	first := newPlan("ann-1", []string{"soest"}, mail, radio)
	mustCreate(t, b, first, "", t0)
	update := revise(first, crier.EventUpdated)
	mustCreate(t, b, update, "", t0.Add(time.Minute))
	for key, d := range byRevision(t, b, "ann-1", 1) {
		if d.State != crier.StateCanceled || d.Error != "replaced by revision 2 before it was sent" {
			t.Errorf("revision 1, %s: %s %q; want canceled as replaced", key, d.State, d.Error)
		}
	}
	for key, d := range byRevision(t, b, "ann-1", 2) {
		if d.State != crier.StateQueued {
			t.Errorf("revision 2, %s: %s; want queued", key, d.State)
		}
	}
	// The update goes out as a message of its own: nothing went out
	// before it, so it follows nothing.
	jobs := mustClaim(t, b, nil, 10, t0.Add(time.Minute), lease)
	if len(jobs) != 3 {
		t.Fatalf("claimed %d jobs, want the update's 3", len(jobs))
	}
	for _, j := range jobs {
		if j.Delivery.Revision != 2 || j.Previous != nil {
			t.Errorf("job %s: revision %d, previous %+v; want revision 2 following nothing",
				j.Delivery.Key, j.Delivery.Revision, j.Previous)
		}
	}
	// A cancel of the still-queued update withdraws it; with nothing sent
	// before, the cancel itself has nothing to do.
	if err := b.Release(context.Background(), jobs); err != nil {
		t.Fatalf("Release: %v", err)
	}
	mustCreate(t, b, revise(update, crier.EventCanceled), "", t0.Add(2*time.Minute))
	for rev, want := range map[int]string{2: "withdrawn by revision 3 before it was sent", 3: "nothing was sent here to withdraw"} {
		for key, d := range byRevision(t, b, "ann-1", rev) {
			if d.State != crier.StateCanceled || d.Error != want {
				t.Errorf("revision %d, %s: %s %q; want canceled, %q", rev, key, d.State, d.Error, want)
			}
		}
	}
	if jobs := mustClaim(t, b, nil, 10, t0.Add(time.Hour), lease); len(jobs) != 0 {
		t.Errorf("claimed %d jobs after the cancel, want none", len(jobs))
	}
}

// testRevisionOrder checks that a revision's delivery waits while the
// previous one is being sent, and carries it once it is final.
func testRevisionOrder(t *testing.T, b Backend) {
	first := newPlan("ann-1", []string{"soest", "werl"}, mastodon)
	mustCreate(t, b, first, "", t0)
	jobs := mustClaim(t, b, []string{"mastodon"}, 1, t0, lease)
	if len(jobs) != 1 {
		t.Fatalf("claimed %d jobs, want 1", len(jobs))
	}
	sending := jobs[0]
	update := revise(first, crier.EventUpdated)
	mustCreate(t, b, update, "", t0.Add(time.Second))
	rev2 := byRevision(t, b, "ann-1", 2)
	for key, d := range rev2 {
		want := crier.StateQueued // the other town's original was replaced
		if d.Town == sending.Delivery.Town {
			want = crier.StateWaiting
		}
		if d.State != want {
			t.Errorf("revision 2, %s: %s, want %s", key, d.State, want)
		}
	}
	// Only the replaced town's update may be claimed while the original
	// is in flight.
	jobs = mustClaim(t, b, []string{"mastodon"}, 10, t0.Add(time.Second), lease)
	if len(jobs) != 1 || jobs[0].Delivery.Town == sending.Delivery.Town {
		t.Fatalf("claimed %d jobs while the original was sending; want only the other town's update", len(jobs))
	}
	mustComplete(t, b, []*crier.Outcome{sent(jobs[0], t0.Add(2*time.Second))}, t0.Add(2*time.Second))
	// The original being sent and its waiting update are both still to go.
	diff(t, "depth with an update waiting", map[string]int{"mastodon": 2}, mustDepth(t, b))

	// The original fails and is retried: the update still waits.
	retry := &crier.Outcome{Delivery: sending.Delivery.ID, Lease: sending.Lease, State: crier.StateQueued,
		NextAt: t0.Add(time.Minute), Attempt: &crier.Attempt{Started: t0, Finished: t0, ErrorCode: crier.ETRANSIENT, Error: "503"}}
	mustComplete(t, b, []*crier.Outcome{retry}, t0.Add(3*time.Second))
	if jobs := mustClaim(t, b, []string{"mastodon"}, 10, t0.Add(30*time.Second), lease); len(jobs) != 0 {
		t.Fatalf("claimed %d jobs while the original waits for its retry, want none", len(jobs))
	}
	jobs = mustClaim(t, b, []string{"mastodon"}, 10, t0.Add(time.Minute), lease)
	if len(jobs) != 1 || jobs[0].Delivery.Revision != 1 {
		t.Fatalf("claimed %v at the retry, want the original alone", jobs)
	}
	mustComplete(t, b, []*crier.Outcome{sent(jobs[0], t0.Add(time.Minute))}, t0.Add(time.Minute))

	// Now the update goes, carrying the original's receipt.
	jobs = mustClaim(t, b, []string{"mastodon"}, 10, t0.Add(time.Minute), lease)
	if len(jobs) != 1 || jobs[0].Delivery.Revision != 2 || jobs[0].Delivery.Town != sending.Delivery.Town {
		t.Fatalf("claimed %v after the original was sent, want its update", jobs)
	}
	p := jobs[0].Previous
	if p == nil || p.ID != sending.Delivery.ID || p.State != crier.StateSent || p.RemoteID == "" {
		t.Errorf("previous = %+v, want the sent original %d with its remote id", p, sending.Delivery.ID)
	}
}

// testRevisionConflicts checks which revisions may follow which.
func testRevisionConflicts(t *testing.T, b Backend) {
	ctx := context.Background()
	first := newPlan("ann-1", []string{"soest"}, radio)
	if _, err := b.CreateAnnouncement(ctx, revise(first, crier.EventUpdated), "", t0); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("revision 2 of an unknown announcement: %v, want not_found", err)
	}
	mustCreate(t, b, first, "", t0)
	skip := revise(revise(first, crier.EventUpdated), crier.EventUpdated)
	if _, err := b.CreateAnnouncement(ctx, skip, "", t0); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("revision 3 after 1: %v, want conflict", err)
	}
	cancel := revise(first, crier.EventCanceled)
	mustCreate(t, b, cancel, "", t0)
	if _, err := b.CreateAnnouncement(ctx, revise(cancel, crier.EventUpdated), "", t0); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("update after a cancel: %v, want conflict", err)
	}
	a, err := b.Announcement(ctx, "ann-1")
	if err != nil || a.Revision != 2 || a.Event != crier.EventCanceled {
		t.Errorf("Announcement = %+v, %v; want revision 2, canceled", a, err)
	}
}

// testRetryLatestRevision checks that a retry after an update queues the
// update's failed deliveries and leaves the original's alone: sending the
// original after its correction would tell people what is no longer so.
func testRetryLatestRevision(t *testing.T, b Backend) {
	ctx := context.Background()
	first := newPlan("ann-1", []string{"soest", "werl"}, radio)
	mustCreate(t, b, first, "", t0)
	fail := func(jobs []*crier.Job, at time.Time) {
		t.Helper()
		var outcomes []*crier.Outcome
		for _, j := range jobs {
			o := sent(j, at)
			o.State, o.Attempt.ErrorCode, o.Attempt.Error = crier.StateFailed, crier.EPERMANENT, "refused"
			outcomes = append(outcomes, o)
		}
		mustComplete(t, b, outcomes, at)
	}
	fail(mustClaim(t, b, nil, 10, t0, lease), t0)
	mustCreate(t, b, revise(first, crier.EventUpdated), "", t0.Add(time.Minute))
	fail(mustClaim(t, b, nil, 10, t0.Add(time.Minute), lease), t0.Add(time.Minute))

	n, err := b.Retry(ctx, "ann-1", []crier.State{crier.StateFailed}, t0.Add(2*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("Retry = %d, %v; want the update's 2 deliveries", n, err)
	}
	for rev, want := range map[int]crier.State{1: crier.StateFailed, 2: crier.StateQueued} {
		for key, d := range byRevision(t, b, "ann-1", rev) {
			if d.State != want {
				t.Errorf("revision %d, %s: %s after the retry, want %s", rev, key, d.State, want)
			}
		}
	}
}
