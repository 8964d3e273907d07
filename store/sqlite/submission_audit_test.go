package sqlite_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/google/go-cmp/cmp"
)

// TestSubmissionAudit: submitting, approving, rejecting and withdrawing
// each write their entry with who, what and the towns, a rejection with
// its reason; an approval's publish has its own entry naming the
// approver; a decision that fails writes none.
func TestSubmissionAudit(t *testing.T) {
	db, path := privacyDB(t)
	anna := crier.WithClientAddress(crier.NewContext(context.Background(),
		&crier.Principal{Name: "anna", Role: crier.RoleEditor, Towns: []string{"soest"}}), "192.0.2.7")
	bert := crier.NewContext(context.Background(), &crier.Principal{Name: "bert", Role: crier.RoleApprover, Towns: []string{"soest"}})
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	submit := func(id string) *crier.Submission {
		t.Helper()
		a := &crier.Announcement{ID: id, Revision: 1, Title: "Wasser", Body: "Abkochen.", Towns: []string{"soest"},
			Category: "Infra", Urgency: "Expected", Severity: "Minor", Certainty: "Observed", Mode: crier.ModeExercise,
			Event: crier.EventPublished, Author: "anna", CreatedAt: now}
		s, _, err := db.CreateSubmission(anna, &crier.Submission{Announcement: a, Author: "anna", CreatedAt: now}, "")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	last := func() *crier.AuditEntry {
		t.Helper()
		es := trail(t, db, 0)
		return es[len(es)-1]
	}

	s1 := submit("a1")
	e := last()
	if diff := cmp.Diff(who{"anna", "editor", "192.0.2.7", crier.AuditSubmissionCreate, "a1", "soest"}, whoOf(e)); diff != "" {
		t.Errorf("create (-want +got):\n%s", diff)
	}
	if e.Detail["author"] != "anna" || e.Detail["submission"] == "" {
		t.Errorf("create detail = %v", e.Detail)
	}

	if _, err := db.DecideSubmission(bert, s1.Seq, crier.SubmissionRejected, "bert", "Telefonnummer fehlt.", now); err != nil {
		t.Fatal(err)
	}
	e = last()
	if diff := cmp.Diff(who{"bert", "approver", "", crier.AuditSubmissionReject, "a1", "soest"}, whoOf(e)); diff != "" {
		t.Errorf("reject (-want +got):\n%s", diff)
	}
	if e.Detail["reason"] != "Telefonnummer fehlt." {
		t.Errorf("reject detail = %v; want the reason", e.Detail)
	}

	// Decided already: no entry.
	before := len(trail(t, db, 0))
	if _, err := db.DecideSubmission(bert, s1.Seq, crier.SubmissionWithdrawn, "bert", "", now); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Fatalf("withdraw a rejected one: %v", err)
	}
	if got := len(trail(t, db, 0)); got != before {
		t.Errorf("%d entries after a failed decision, want %d", got, before)
	}

	s2 := submit("a2")
	if _, err := db.DecideSubmission(anna, s2.Seq, crier.SubmissionWithdrawn, "anna", "", now); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(who{"anna", "editor", "192.0.2.7", crier.AuditSubmissionWithdraw, "a2", "soest"}, whoOf(last())); diff != "" {
		t.Errorf("withdraw (-want +got):\n%s", diff)
	}

	s3 := submit("a3")
	a := *s3.Announcement
	a.Approver, a.Approval = "bert", crier.Approved
	plan := &crier.Plan{Announcement: &a, Towns: []string{"soest"},
		Messages: []*crier.Message{{Town: "soest", Channel: "radio", Type: "webhook", Text: "Abkochen."}}}
	if _, err := db.ApproveSubmission(bert, s3.Seq, plan, "bert", now); err != nil {
		t.Fatal(err)
	}
	es := trail(t, db, 0)
	approve, publish := es[len(es)-2], es[len(es)-1]
	if diff := cmp.Diff(who{"bert", "approver", "", crier.AuditSubmissionApprove, "a3", "soest"}, whoOf(approve)); diff != "" {
		t.Errorf("approve (-want +got):\n%s", diff)
	}
	if publish.Action != crier.EventPublished || publish.Detail["approver"] != "bert" || publish.Detail["approval"] != crier.Approved {
		t.Errorf("publish of the approval = %+v", publish)
	}
	mustVerify(t, db)

	// The trail refuses entries: the submission goes with them.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`CREATE TRIGGER refuse BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'refused'); END`); err != nil {
		t.Fatal(err)
	}
	a4 := *s3.Announcement
	a4.ID = "a4"
	if _, _, err := db.CreateSubmission(anna, &crier.Submission{Announcement: &a4, Author: "anna", CreatedAt: now}, ""); err == nil {
		t.Fatal("submission stored without its entry")
	}
	if _, err := db.Submission(context.Background(), "a4"); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("submission after the failed entry: %v; want none", err)
	}
}

// TestEmergencyPublishAudit: an admin's publish without the approval its
// towns require says so in its entry.
func TestEmergencyPublishAudit(t *testing.T) {
	db, _ := privacyDB(t)
	ctx := crier.NewContext(context.Background(), crier.AdminPrincipal)
	a := &crier.Announcement{ID: "e1", Revision: 1, Title: "Sturm", Body: "Drinnen bleiben.", Towns: []string{"soest"},
		Mode: crier.ModeExercise, Event: crier.EventPublished, Approval: crier.EmergencyPublish}
	plan := &crier.Plan{Announcement: a, Towns: []string{"soest"},
		Messages: []*crier.Message{{Town: "soest", Channel: "radio", Type: "webhook", Text: "Drinnen bleiben."}}}
	if _, err := db.CreateAnnouncement(ctx, plan, "", time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	es := trail(t, db, 0)
	if e := es[len(es)-1]; e.Action != crier.EventPublished || e.Detail["approval"] != crier.EmergencyPublish {
		t.Errorf("entry = %+v; want a publish marked emergency", e)
	}
}
