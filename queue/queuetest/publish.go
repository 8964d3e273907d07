package queuetest

import (
	"context"
	"testing"
	"time"

	"github.com/crierhq/crier"
)

// testCreateDeliveries checks that publishing queues one delivery per
// non-subscriber message and one per confirmed subscriber of each
// PerSubscriber message's town, with deterministic keys.
func testCreateDeliveries(t *testing.T, b Backend) {
	ctx := context.Background()
	soest := mustSubscribe(t, b, "soest", crier.SubscriberConfirmed, "anna@soest.example", "ben@soest.example", "carla@soest.example")
	mustSubscribe(t, b, "soest", crier.SubscriberPending, "dora@soest.example")
	mustSubscribe(t, b, "soest", crier.SubscriberConfirmed, "emil@soest.example")
	if err := b.RemoveSubscriber(ctx, "soest", "emil@soest.example", t0.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	werl := mustSubscribe(t, b, "werl", crier.SubscriberConfirmed, "frieda@werl.example", "gustav@werl.example")
	mustSubscribe(t, b, "lippstadt", crier.SubscriberPending, "hans@lippstadt.example")

	p := newPlan("ann-1", []string{"soest", "werl", "lippstadt"}, mail, radio)
	res := mustCreate(t, b, p, "", t0)

	wantAnn := *p.Announcement
	wantAnn.CreatedAt = t0
	diff(t, "result", &crier.PublishResult{Announcement: &wantAnn, Deliveries: 8}, res)
	got, err := b.Announcement(ctx, "ann-1")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "Announcement", &wantAnn, got)
	_, err = b.Announcement(ctx, "ann-unknown")
	wantCode(t, err, crier.ENOTFOUND)

	delivery := func(town, channel, typ, recipient string, subscriber int64) *crier.Delivery {
		return &crier.Delivery{
			Key: crier.DeliveryKey("ann-1", 1, town, channel, subscriber), Announcement: "ann-1", Revision: 1,
			Town: town, Channel: channel, Type: typ, Recipient: recipient,
			State: crier.StateQueued, NextAt: t0, Capture: true, UpdatedAt: t0,
		}
	}
	var want []*crier.Delivery
	for _, s := range append(soest, werl...) {
		want = append(want, delivery(s.Town, "mail-"+s.Town, "email", s.Email, s.ID))
	}
	for _, town := range []string{"soest", "werl", "lippstadt"} {
		want = append(want, delivery(town, "radio", "webhook", "", 0))
	}
	ds := mustDeliveries(t, b, crier.DeliveryFilter{Announcement: "ann-1"})
	diff(t, "deliveries", want, ds, ignoreID, sortDeliveries)
	ids := make(map[int64]bool)
	for _, d := range ds {
		if d.ID <= 0 || ids[d.ID] {
			t.Errorf("delivery %s has id %d, want a positive unique id", d.Key, d.ID)
		}
		ids[d.ID] = true
	}

	diff(t, "counts", []crier.Count{
		{Town: "lippstadt", Channel: "radio", State: crier.StateQueued, N: 1},
		{Town: "soest", Channel: "mail-soest", State: crier.StateQueued, N: 3},
		{Town: "soest", Channel: "radio", State: crier.StateQueued, N: 1},
		{Town: "werl", Channel: "mail-werl", State: crier.StateQueued, N: 2},
		{Town: "werl", Channel: "radio", State: crier.StateQueued, N: 1},
	}, mustCounts(t, b, "ann-1"))
	diff(t, "depth", map[string]int{"email": 5, "webhook": 3}, mustDepth(t, b))

	msgs, err := b.Messages(ctx, "ann-1")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "messages", p.Messages, msgs, sortMessages)
}

// testCreateIdempotent checks that a repeated idempotency key returns the
// first result and writes nothing, and that EarlierResult finds it.
func testCreateIdempotent(t *testing.T, b Backend) {
	ctx := context.Background()
	if res, err := b.EarlierResult(ctx, "request-7f3a"); res != nil || err != nil {
		t.Fatalf("EarlierResult of a new key = %+v, %v; want nil, nil", res, err)
	}
	towns := []string{"soest", "werl"}
	first := mustCreate(t, b, newPlan("ann-1", towns, radio, mastodon), "request-7f3a", t0)
	if first.Existing || first.Deliveries != 4 {
		t.Fatalf("first result = %+v, want 4 new deliveries", first)
	}
	earlier, err := b.EarlierResult(ctx, "request-7f3a")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "earlier result", &crier.PublishResult{Announcement: first.Announcement, Deliveries: 4, Existing: true}, earlier)
	if res, err := b.EarlierResult(ctx, ""); res != nil || err != nil {
		t.Errorf("EarlierResult of no key = %+v, %v; want nil, nil", res, err)
	}

	// A retried request: the engine rendered it again under a new id.
	again := mustCreate(t, b, newPlan("ann-2", towns, radio, mastodon), "request-7f3a", t0.Add(time.Minute))
	diff(t, "repeated result", &crier.PublishResult{Announcement: first.Announcement, Deliveries: 4, Existing: true}, again)
	if _, err := b.Announcement(ctx, "ann-2"); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("Announcement(ann-2) after a repeated key: err = %v, want not_found", err)
	}
	if ds := mustDeliveries(t, b, crier.DeliveryFilter{Announcement: "ann-2"}); len(ds) != 0 {
		t.Errorf("repeated key queued %d deliveries, want 0", len(ds))
	}

	other := mustCreate(t, b, newPlan("ann-3", towns, radio), "request-9c21", t0)
	if other.Existing || other.Deliveries != 2 {
		t.Errorf("another key: result = %+v, want 2 new deliveries", other)
	}
	diff(t, "depth", map[string]int{"webhook": 4, "mastodon": 2}, mustDepth(t, b))
}

// testCreateSnapshot checks that the recipients are those confirmed at
// publish time.
func testCreateSnapshot(t *testing.T, b Backend) {
	mustSubscribe(t, b, "warstein", crier.SubscriberConfirmed, "ida@warstein.example")
	res := mustCreate(t, b, newPlan("ann-1", []string{"warstein"}, mail), "", t0)
	mustSubscribe(t, b, "warstein", crier.SubscriberConfirmed, "jan@warstein.example")

	if res.Deliveries != 1 {
		t.Errorf("deliveries = %d, want 1", res.Deliveries)
	}
	ds := mustDeliveries(t, b, crier.DeliveryFilter{Announcement: "ann-1"})
	if len(ds) != 1 || ds[0].Recipient != "ida@warstein.example" {
		t.Errorf("deliveries after a later subscription = %+v, want only ida", ds)
	}
	later := mustCreate(t, b, newPlan("ann-2", []string{"warstein"}, mail), "", t0)
	if later.Deliveries != 2 {
		t.Errorf("a later announcement has %d deliveries, want 2", later.Deliveries)
	}
}

// testCreateSameRevision checks that a revision cannot be committed twice.
func testCreateSameRevision(t *testing.T, b Backend) {
	mustCreate(t, b, newPlan("ann-1", []string{"erwitte"}, radio), "", t0)
	_, err := b.CreateAnnouncement(context.Background(), newPlan("ann-1", []string{"erwitte"}, radio), "", t0)
	if err == nil {
		t.Fatal("committing the same revision twice succeeded")
	}
	if n := len(mustDeliveries(t, b, crier.DeliveryFilter{})); n != 1 {
		t.Errorf("%d deliveries after the refused commit, want 1", n)
	}
	p := newPlan("ann-1", []string{"erwitte"}, radio)
	p.Announcement.Revision = 2
	for _, m := range p.Messages {
		m.Revision = 2
	}
	mustCreate(t, b, p, "", t0.Add(time.Minute))
	a, err := b.Announcement(context.Background(), "ann-1")
	if err != nil || a.Revision != 2 {
		t.Errorf("Announcement(ann-1) = %+v, %v; want revision 2", a, err)
	}
	ds := mustDeliveries(t, b, crier.DeliveryFilter{Announcement: "ann-1"})
	want := []string{crier.DeliveryKey("ann-1", 1, "erwitte", "radio", 0), crier.DeliveryKey("ann-1", 2, "erwitte", "radio", 0)}
	var got []string
	for _, d := range ds {
		got = append(got, d.Key)
	}
	diff(t, "keys of both revisions", want, got)
}

// testAnnouncements checks that the newest announcements come first.
func testAnnouncements(t *testing.T, b Backend) {
	for i, id := range []string{"ann-1", "ann-2", "ann-3"} {
		mustCreate(t, b, newPlan(id, []string{"soest"}, radio), "", t0.Add(time.Duration(i)*time.Minute))
	}
	as, err := b.Announcements(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range as {
		ids = append(ids, a.ID)
	}
	diff(t, "newest two", []string{"ann-3", "ann-2"}, ids)
}

// testDeliveriesFilter checks filters and paging by id.
func testDeliveriesFilter(t *testing.T, b Backend) {
	towns := []string{"soest", "werl", "lippstadt", "warstein", "erwitte"}
	mustCreate(t, b, newPlan("ann-1", towns, radio, mastodon), "", t0)
	mustCreate(t, b, newPlan("ann-2", []string{"soest"}, radio), "", t0)

	all := mustDeliveries(t, b, crier.DeliveryFilter{})
	if len(all) != 11 {
		t.Fatalf("%d deliveries, want 11", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID <= all[i-1].ID {
			t.Fatalf("deliveries not ordered by id: %d after %d", all[i].ID, all[i-1].ID)
		}
	}
	var pages []int
	f := crier.DeliveryFilter{Announcement: "ann-1", Limit: 4}
	for {
		page, err := b.Deliveries(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		pages = append(pages, len(page))
		f.AfterID = page[len(page)-1].ID
	}
	diff(t, "page sizes", []int{4, 4, 2}, pages)

	soestRadio := mustDeliveries(t, b, crier.DeliveryFilter{Town: "soest", Channel: "radio"})
	if len(soestRadio) != 2 || soestRadio[0].Announcement != "ann-1" || soestRadio[1].Announcement != "ann-2" {
		t.Errorf("soest radio deliveries = %+v, want one per announcement", soestRadio)
	}
	j := mustClaim(t, b, []string{"mastodon"}, 1, t0, lease)
	sending := mustDeliveries(t, b, crier.DeliveryFilter{State: crier.StateSending})
	if len(j) != 1 || len(sending) != 1 || sending[0].ID != j[0].Delivery.ID {
		t.Errorf("sending deliveries = %+v, want the claimed one", sending)
	}
}

// testSubscribers checks the email lists.
func testSubscribers(t *testing.T, b Backend) {
	ctx := context.Background()
	subs := []*crier.Subscriber{
		{Town: "ense", Email: "anna@example.org", State: crier.SubscriberConfirmed, Source: "paper list Bürgerbüro"},
		{Town: "ense", Email: "ben@example.org", State: crier.SubscriberPending},
		{Town: "werl", Email: "anna@example.org", Name: "Anna", State: crier.SubscriberConfirmed},
	}
	n, err := b.AddSubscribers(ctx, subs, t0)
	if err != nil || n != 3 {
		t.Fatalf("AddSubscribers = %d, %v; want 3 new", n, err)
	}
	n, err = b.AddSubscribers(ctx, []*crier.Subscriber{
		{Town: "ense", Email: "ben@example.org", Name: "Ben", State: crier.SubscriberConfirmed, Source: "double opt-in"},
		{Town: "ense", Email: "carla@example.org", State: crier.SubscriberConfirmed},
	}, t0.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("AddSubscribers with one known address = %d, %v; want 1 new", n, err)
	}

	ense, err := b.Subscribers(ctx, "ense", "")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "ense", []*crier.Subscriber{
		{Town: "ense", Email: "anna@example.org", State: crier.SubscriberConfirmed, Source: "paper list Bürgerbüro", CreatedAt: t0, UpdatedAt: t0, ConfirmedAt: t0},
		{Town: "ense", Email: "ben@example.org", Name: "Ben", State: crier.SubscriberConfirmed, Source: "double opt-in", CreatedAt: t0, UpdatedAt: t0.Add(time.Hour), ConfirmedAt: t0.Add(time.Hour)},
		{Town: "ense", Email: "carla@example.org", State: crier.SubscriberConfirmed, CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour), ConfirmedAt: t0.Add(time.Hour)},
	}, ense, ignoreSubscriberID)
	for i := 1; i < len(ense); i++ {
		if ense[i].ID <= ense[i-1].ID {
			t.Errorf("subscribers not ordered by id")
		}
	}

	if err := b.RemoveSubscriber(ctx, "ense", "anna@example.org", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, b.RemoveSubscriber(ctx, "ense", "nobody@example.org", t0), crier.ENOTFOUND)
	wantCode(t, b.RemoveSubscriber(ctx, "soest", "ben@example.org", t0), crier.ENOTFOUND)

	confirmed, err := b.Subscribers(ctx, "ense", crier.SubscriberConfirmed)
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, s := range confirmed {
		emails = append(emails, s.Email)
	}
	diff(t, "confirmed in ense", []string{"ben@example.org", "carla@example.org"}, emails)
	left, err := b.Subscribers(ctx, "ense", crier.SubscriberUnsubscribed)
	if err != nil || len(left) != 1 || !left[0].UnsubscribedAt.Equal(t0.Add(2*time.Hour)) || !left[0].ConfirmedAt.Equal(t0) {
		t.Errorf("unsubscribed in ense = %+v, %v; want anna, confirmed at t0, unsubscribed two hours later", left, err)
	}
	werl, err := b.Subscribers(ctx, "werl", crier.SubscriberConfirmed)
	if err != nil || len(werl) != 1 || werl[0].Email != "anna@example.org" {
		t.Errorf("werl = %+v, %v; want anna still confirmed there", werl, err)
	}
}
