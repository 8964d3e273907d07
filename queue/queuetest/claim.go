package queuetest

import (
	"context"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// testClaimDue checks that only due deliveries are claimed, at most n at a
// time, the earliest due first.
func testClaimDue(t *testing.T, b Backend) {
	mustCreate(t, b, newPlan("ann-later", []string{"soest", "werl"}, radio), "", t0.Add(time.Minute))
	mustCreate(t, b, newPlan("ann-now", []string{"lippstadt", "warstein", "erwitte"}, radio), "", t0)

	if jobs := mustClaim(t, b, nil, 10, t0.Add(-time.Millisecond), time.Hour); len(jobs) != 0 {
		t.Fatalf("claimed %d jobs before any was due", len(jobs))
	}
	first := mustClaim(t, b, nil, 2, t0, time.Hour)
	second := mustClaim(t, b, nil, 10, t0, time.Hour)
	if len(first) != 2 || len(second) != 1 {
		t.Fatalf("claims at t0 got %d and %d jobs, want 2 and 1", len(first), len(second))
	}
	for _, j := range append(first, second...) {
		if j.Delivery.Announcement != "ann-now" {
			t.Errorf("claimed %s at t0, which is due at t0+1m", j.Delivery.Key)
		}
	}
	later := mustClaim(t, b, nil, 10, t0.Add(time.Minute), time.Hour)
	if len(later) != 2 {
		t.Fatalf("claim at t0+1m got %d jobs, want the 2 due then", len(later))
	}
	if jobs := mustClaim(t, b, nil, 10, t0.Add(time.Minute), time.Hour); len(jobs) != 0 {
		t.Errorf("claimed %d jobs from an empty queue", len(jobs))
	}
	if jobs, err := b.Claim(context.Background(), nil, 0, t0, time.Hour); err != nil || len(jobs) != 0 {
		t.Errorf("Claim(n=0) = %d jobs, %v; want none", len(jobs), err)
	}
}

// testClaimOrder checks that claims take the earliest due first, whatever
// order the deliveries were created in.
func testClaimOrder(t *testing.T, b Backend) {
	mustCreate(t, b, newPlan("ann-b", []string{"soest", "werl"}, radio), "", t0.Add(time.Minute))
	mustCreate(t, b, newPlan("ann-a", []string{"lippstadt", "warstein", "erwitte"}, radio), "", t0)
	mustCreate(t, b, newPlan("ann-c", []string{"soest", "werl"}, radio), "", t0.Add(2*time.Minute))

	now := t0.Add(2 * time.Minute)
	var got []string
	for _, n := range []int{3, 2, 2} {
		jobs := mustClaim(t, b, nil, n, now, time.Hour)
		anns := make(map[string]bool)
		for _, j := range jobs {
			anns[j.Delivery.Announcement] = true
		}
		if len(jobs) != n || len(anns) != 1 {
			t.Fatalf("claim of %d got %d jobs of %d announcements, want %[1]d of one", n, len(jobs), len(anns))
		}
		got = append(got, jobs[0].Delivery.Announcement)
	}
	diff(t, "announcements in claim order", []string{"ann-a", "ann-b", "ann-c"}, got)
}

// testClaimTypes checks the channel type filter.
func testClaimTypes(t *testing.T, b Backend) {
	mustSubscribe(t, b, "soest", crier.SubscriberConfirmed, "anna@soest.example")
	mustCreate(t, b, newPlan("ann-1", []string{"soest", "werl"}, mail, radio, mastodon), "", t0)

	types := func(jobs []*crier.Job) map[string]int {
		m := make(map[string]int)
		for _, j := range jobs {
			m[j.Delivery.Type]++
		}
		return m
	}
	diff(t, "mastodon claim", map[string]int{"mastodon": 2}, types(mustClaim(t, b, []string{"mastodon"}, 10, t0, lease)))
	diff(t, "email, webhook and slack claim", map[string]int{"email": 1, "webhook": 1},
		types(mustClaim(t, b, []string{"email", "webhook", "slack"}, 2, t0, lease)))
	diff(t, "unfiltered claim", map[string]int{"webhook": 1}, types(mustClaim(t, b, nil, 10, t0, lease)))
}

// testClaimJob checks what a claimed job carries.
func testClaimJob(t *testing.T, b Backend) {
	subs := mustSubscribe(t, b, "soest", crier.SubscriberConfirmed, "anna@soest.example", "ben@soest.example")
	p := newPlan("ann-1", []string{"soest"}, mail, radio)
	mustCreate(t, b, p, "", t0)
	now := t0.Add(time.Second)
	jobs := mustClaim(t, b, nil, 10, now, lease)
	if len(jobs) != 3 {
		t.Fatalf("claimed %d jobs, want 3", len(jobs))
	}

	recipients := map[string]int64{"anna@soest.example": subs[0].ID, "ben@soest.example": subs[1].ID}
	leases := make(map[string]bool)
	for _, j := range jobs {
		d := j.Delivery
		if d.State != crier.StateSending || d.Attempts != 0 || !d.FirstAttempt.Equal(now) || j.Reclaimed || j.Lease == "" {
			t.Errorf("job %s: state %s, attempts %d, first attempt %s, reclaimed %t, lease %q; want sending, 0, %s, false, a lease",
				d.Key, d.State, d.Attempts, d.FirstAttempt, j.Reclaimed, j.Lease, now)
		}
		leases[j.Lease] = true
		want := *p.Messages[1]
		if d.Type == "email" {
			want = *p.Messages[0]
			if key := crier.DeliveryKey("ann-1", 1, "soest", "mail-soest", recipients[d.Recipient]); d.Key != key {
				t.Errorf("delivery to %s has key %s, want %s", d.Recipient, d.Key, key)
			}
		}
		want.Key, want.Recipient, want.Attempt, want.FirstAttempt = d.Key, d.Recipient, 1, now
		diff(t, "message of "+d.Key, &want, j.Message)
	}
	if len(leases) != 1 {
		t.Errorf("one claim returned %d different leases", len(leases))
	}
	stored := mustDeliveries(t, b, crier.DeliveryFilter{Announcement: "ann-1", State: crier.StateSending})
	if len(stored) != 3 {
		t.Errorf("%d deliveries stored as sending, want 3", len(stored))
	}

	// Each job owns its message: changing one does not change another.
	var mails []*crier.Job
	for _, j := range jobs {
		if j.Delivery.Type == "email" {
			mails = append(mails, j)
		}
	}
	before := string(mails[1].Message.Payload)
	mails[0].Message.Payload[0] = 'X'
	mails[0].Message.Text = "changed"
	if string(mails[1].Message.Payload) != before || mails[1].Message.Text == "changed" {
		t.Error("two jobs of one message share memory")
	}
}

// testClaimLease checks that a lease keeps a job from other claims until it
// expires, and that the job is then reclaimed under a new lease.
func testClaimLease(t *testing.T, b Backend) {
	mustCreate(t, b, newPlan("ann-1", []string{"soest"}, radio), "", t0)
	first := mustClaim(t, b, nil, 1, t0, time.Minute)
	if len(first) != 1 {
		t.Fatalf("claimed %d jobs, want 1", len(first))
	}
	if jobs := mustClaim(t, b, nil, 1, t0.Add(time.Minute-time.Millisecond), time.Minute); len(jobs) != 0 {
		t.Fatalf("claimed a job whose lease has not expired")
	}
	again := mustClaim(t, b, nil, 1, t0.Add(time.Minute), time.Minute)
	if len(again) != 1 {
		t.Fatalf("claimed %d jobs after the lease expired, want 1", len(again))
	}
	j := again[0]
	if !j.Reclaimed || j.Lease == first[0].Lease || j.Delivery.ID != first[0].Delivery.ID {
		t.Errorf("reclaimed job: reclaimed %t, lease %q (first %q); want reclaimed under a new lease",
			j.Reclaimed, j.Lease, first[0].Lease)
	}
	if j.Message.Attempt != 1 || !j.Message.FirstAttempt.Equal(t0) || j.Delivery.Attempts != 0 {
		t.Errorf("reclaimed job: attempt %d, first attempt %s, attempts %d; want 1, %s, 0",
			j.Message.Attempt, j.Message.FirstAttempt, j.Delivery.Attempts, t0)
	}

	// The first worker finishes late: its outcome is refused.
	if stale := mustComplete(t, b, []*crier.Outcome{sent(first[0], t0.Add(61*time.Second))}, t0.Add(61*time.Second)); stale != 1 {
		t.Errorf("outcome under a lost lease: stale = %d, want 1", stale)
	}
	d := mustDelivery(t, b, "ann-1", j.Delivery.ID)
	if d.State != crier.StateSending || d.Attempts != 0 || len(mustAttempts(t, b, d.ID)) != 0 {
		t.Errorf("after a stale outcome: state %s, attempts %d; want sending, 0 and no attempt recorded", d.State, d.Attempts)
	}
	if stale := mustComplete(t, b, []*crier.Outcome{sent(j, t0.Add(62*time.Second))}, t0.Add(62*time.Second)); stale != 0 {
		t.Errorf("outcome under the current lease: stale = %d, want 0", stale)
	}
	if d := mustDelivery(t, b, "ann-1", j.Delivery.ID); d.State != crier.StateSent {
		t.Errorf("state %s, want sent", d.State)
	}
}
