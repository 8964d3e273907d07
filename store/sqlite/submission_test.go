package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/google/go-cmp/cmp"
)

// TestSubmissions: a submission survives a reopen as it was stored; its
// idempotency key finds it again; one waits per announcement at a time;
// a decision is taken once; approving publishes its plan in the same
// transaction, and only while it waits.
func TestSubmissions(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crier.db")
	db := MustOpen(t, path)
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	a := &crier.Announcement{ID: "a1", Revision: 1, Title: "Wasser", Body: "Abkochen.", Towns: []string{"soest"},
		Category: "Infra", Urgency: "Expected", Severity: "Minor", Certainty: "Observed", Mode: crier.ModeExercise,
		Event: crier.EventPublished, Author: "anna", CreatedAt: now}
	sub := &crier.Submission{Announcement: a, PublishAt: now.Add(time.Hour), Author: "anna", CreatedAt: now}
	stored, existing, err := db.CreateSubmission(ctx, sub, "key-1")
	if err != nil || existing || stored.State != crier.SubmissionPending || stored.Seq == 0 {
		t.Fatalf("create: %+v, %v, %v", stored, existing, err)
	}
	if again, existing, err := db.CreateSubmission(ctx, sub, "key-1"); err != nil || !existing || again.Seq != stored.Seq {
		t.Errorf("repeated key: %+v, %v, %v; want the first", again, existing, err)
	}
	if _, _, err := db.CreateSubmission(ctx, sub, "key-2"); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("a second pending submission of a1: %v; want a conflict", err)
	}

	db.Close()
	db = MustOpen(t, path)
	got, err := db.Submission(ctx, "a1")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(stored, got); d != "" {
		t.Errorf("after a reopen (-stored +read):\n%s", d)
	}
	if byKey, err := db.SubmissionByKey(ctx, "key-1"); err != nil || byKey == nil || byKey.Seq != stored.Seq {
		t.Errorf("by key: %+v, %v", byKey, err)
	}
	if none, err := db.SubmissionByKey(ctx, "key-9"); err != nil || none != nil {
		t.Errorf("an unknown key: %+v, %v; want none", none, err)
	}

	rejected, err := db.DecideSubmission(ctx, stored.Seq, crier.SubmissionRejected, "bert", "Zu kurz.", now.Add(time.Minute))
	if err != nil || rejected.State != crier.SubmissionRejected || rejected.DecidedBy != "bert" || rejected.Reason != "Zu kurz." {
		t.Fatalf("reject: %+v, %v", rejected, err)
	}
	plan := &crier.Plan{Announcement: a, Messages: []*crier.Message{{Town: "soest", Channel: "radio", Type: "webhook", Text: "Abkochen."}}}
	if _, err := db.ApproveSubmission(ctx, stored.Seq, plan, "carl", now); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("approve a rejected one: %v; want a conflict", err)
	}
	if _, err := db.Announcement(ctx, "a1"); crier.ErrorCode(err) != crier.ENOTFOUND {
		t.Errorf("a1 after the refused approval: %v; want it not published", err)
	}

	// A new submission of a1 may wait now; approving it publishes.
	stored, _, err = db.CreateSubmission(ctx, &crier.Submission{Announcement: a, Author: "anna", CreatedAt: now}, "")
	if err != nil {
		t.Fatal(err)
	}
	approved := *a
	approved.Approver, approved.Approval = "bert", crier.Approved
	plan.Announcement = &approved
	res, err := db.ApproveSubmission(ctx, stored.Seq, plan, "bert", now)
	if err != nil || res.Deliveries != 1 {
		t.Fatalf("approve: %+v, %v", res, err)
	}
	if pub, err := db.Announcement(ctx, "a1"); err != nil || pub.Author != "anna" || pub.Approver != "bert" || pub.Approval != crier.Approved {
		t.Errorf("published: %+v, %v", pub, err)
	}
	pending, err := db.Submissions(ctx, crier.SubmissionPending, 0)
	all, err2 := db.Submissions(ctx, "", 0)
	if err != nil || err2 != nil || len(pending) != 0 || len(all) != 2 || all[0].State != crier.SubmissionApproved {
		t.Errorf("lists: %d pending, all %+v; %v, %v", len(pending), all, err, err2)
	}
}
