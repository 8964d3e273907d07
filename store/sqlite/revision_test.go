package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/store/sqlite"
)

// TestWaitingAcrossRestart: a revision that waits for a delivery in flight
// is released by that delivery's outcome also when the process restarted
// in between.
func TestWaitingAcrossRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crier.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	plan := func(rev int, event string) *crier.Plan {
		a := &crier.Announcement{ID: "ann-1", Revision: rev, Event: event, Title: "Rathaus geschlossen", Body: "Heute.",
			Towns: []string{"soest"}, Mode: crier.ModeActual}
		return &crier.Plan{Announcement: a, Towns: a.Towns, Messages: []*crier.Message{{Town: "soest",
			Channel: "radio", Type: "webhook", Event: event, Mode: crier.ModeActual, Text: "Rathaus geschlossen"}}}
	}
	if _, err := db.CreateAnnouncement(ctx, plan(1, crier.EventPublished), "", t0); err != nil {
		t.Fatal(err)
	}
	jobs, err := db.Claim(ctx, []string{"webhook"}, 1, t0, time.Hour)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("Claim: %d jobs, %v", len(jobs), err)
	}
	if _, err := db.CreateAnnouncement(ctx, plan(2, crier.EventUpdated), "", t0); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = MustOpen(t, path)
	o := &crier.Outcome{Delivery: jobs[0].Delivery.ID, Lease: jobs[0].Lease, State: crier.StateSent,
		Attempt: &crier.Attempt{Started: t0, Finished: t0, RemoteID: "hook-1"}}
	if stale, err := db.Complete(ctx, []*crier.Outcome{o}, t0.Add(time.Second)); err != nil || stale != 0 {
		t.Fatalf("Complete: %d stale, %v", stale, err)
	}
	next, err := db.Claim(ctx, []string{"webhook"}, 1, t0.Add(time.Second), time.Hour)
	if err != nil || len(next) != 1 || next[0].Delivery.Revision != 2 {
		t.Fatalf("after the restart and the original's outcome: claimed %v, %v; want the update", next, err)
	}
	if p := next[0].Previous; p == nil || p.RemoteID != "hook-1" {
		t.Errorf("the update's previous delivery: %+v, want the original with its remote id", p)
	}
}
