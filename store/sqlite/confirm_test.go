package sqlite_test

import (
	"context"
	"testing"

	"github.com/crierhq/crier"
)

// TestConfirmationMail: a confirmation mail of the subscribe form is one
// delivery to its recipient, found by Announcement and the delivery
// record, but left out of Announcements.
func TestConfirmationMail(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	p := &crier.Plan{
		Announcement: &crier.Announcement{ID: "confirm-1", Revision: 1, Title: "Bitte bestätigen", Body: "x",
			Towns: []string{"soest"}, Mode: crier.ModeActual, Event: crier.EventSubscriptionConfirm},
		Messages: []*crier.Message{{Town: "soest", Channel: "mail-soest", Type: "email", Subject: "Bitte bestätigen",
			Text: "x", Event: crier.EventSubscriptionConfirm, Recipient: "anna@example.org"}},
	}
	res, err := db.CreateAnnouncement(ctx, p, "confirm:soest:anna@example.org:2026-11-26T09", t0)
	if err != nil || res.Deliveries != 1 {
		t.Fatalf("CreateAnnouncement = %+v, %v", res, err)
	}
	ds, err := db.Deliveries(ctx, crier.DeliveryFilter{Announcement: "confirm-1"})
	if err != nil || len(ds) != 1 || ds[0].Recipient != "anna@example.org" {
		t.Fatalf("Deliveries = %+v, %v", ds, err)
	}
	if a, err := db.Announcement(ctx, "confirm-1"); err != nil || a.Event != crier.EventSubscriptionConfirm {
		t.Errorf("Announcement = %+v, %v", a, err)
	}
	if as, err := db.Announcements(ctx, 0); err != nil || len(as) != 0 {
		t.Errorf("Announcements = %+v, %v; want none", as, err)
	}
}

func TestSubscriberLookup(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t)
	if _, err := db.AddSubscribers(ctx, []*crier.Subscriber{
		{Town: "soest", Email: "anna@example.org", Name: "Anna", State: crier.SubscriberPending},
	}, t0); err != nil {
		t.Fatal(err)
	}
	sub, err := db.Subscriber(ctx, "soest", "anna@EXAMPLE.org")
	if err != nil || sub.Email != "anna@example.org" || sub.Name != "Anna" || sub.State != crier.SubscriberPending {
		t.Errorf("Subscriber = %+v, %v", sub, err)
	}
	if _, err := db.Subscriber(ctx, "werl", "anna@example.org"); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("other town: %v, want not_found", err)
	}
}
