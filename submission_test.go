package crier_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crierhq/crier"
	"github.com/crierhq/crier/schedule"
	"github.com/crierhq/crier/store/sqlite"
	"github.com/crierhq/crier/templates"
)

func TestApprovalPolicyMode(t *testing.T) {
	p := &crier.ApprovalPolicy{
		Default: crier.ApprovalRule{Mode: crier.ApprovalOptional},
		Towns: map[string]crier.ApprovalRule{
			"soest": {Mode: crier.ApprovalRequired},
			"werl":  {Mode: crier.ApprovalRequired, FromSeverity: "Severe"},
			"ense":  {Mode: crier.ApprovalOff},
		},
	}
	for _, c := range []struct {
		towns    []string
		severity string
		want     crier.ApprovalMode
	}{
		{[]string{"soest"}, "Minor", crier.ApprovalRequired},
		{[]string{"werl"}, "Minor", crier.ApprovalOff},
		{[]string{"werl"}, "Moderate", crier.ApprovalOff},
		{[]string{"werl"}, "Severe", crier.ApprovalRequired},
		{[]string{"werl"}, "Extreme", crier.ApprovalRequired},
		{[]string{"werl"}, "Unknown", crier.ApprovalOff},
		{[]string{"ense"}, "Extreme", crier.ApprovalOff},
		{[]string{"lippstadt"}, "Minor", crier.ApprovalOptional},
		{[]string{"ense", "lippstadt"}, "Minor", crier.ApprovalOptional},
		{[]string{"ense", "werl", "soest"}, "Minor", crier.ApprovalRequired},
		{nil, "Extreme", crier.ApprovalOff},
	} {
		if got := p.Mode(c.towns, c.severity); got != c.want {
			t.Errorf("Mode(%v, %s) = %s, want %s", c.towns, c.severity, got, c.want)
		}
	}
	var off *crier.ApprovalPolicy
	if got := off.Mode([]string{"soest"}, "Extreme"); got != crier.ApprovalOff {
		t.Errorf("a nil policy: %s, want off", got)
	}
}

// settable is a clock a test moves.
type settable struct {
	mu  sync.Mutex
	now time.Time
}

func (c *settable) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *settable) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type nopChannel struct{}

func (nopChannel) Send(context.Context, *crier.Message) (*crier.Receipt, error) {
	return &crier.Receipt{}, nil
}

// approvalEngine is an engine on a real SQLite store with approval
// required in soest, and a scheduler for approved submissions that have a
// publish_at.
func approvalEngine(t *testing.T) (*crier.Engine, *sqlite.DB, *schedule.Scheduler, *settable) {
	t.Helper()
	clock := &settable{now: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	db, err := sqlite.Open(t.Context(), t.TempDir()+"/crier.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r, err := templates.New(templates.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	e := &crier.Engine{
		Directory: crier.NewDirectory([]*crier.Town{
			{ID: "soest", Name: "Stadt Soest", Channels: []string{"radio"}},
			{ID: "werl", Name: "Stadt Werl", Channels: []string{"radio"}},
		}, nil),
		Channels:    map[string]*crier.ChannelInfo{"radio": {ID: "radio", Type: "webhook", Channel: nopChannel{}}},
		Renderer:    r,
		Store:       db,
		Submissions: db,
		Clock:       clock,
		Mode:        crier.ModeExercise,
		PublicURL:   "https://krisen.example",
		Approval:    &crier.ApprovalPolicy{Towns: map[string]crier.ApprovalRule{"soest": {Mode: crier.ApprovalRequired}}},
	}
	sched := &schedule.Scheduler{Store: db, Engine: e, Clock: clock}
	e.Schedules = sched
	return e, db, sched, clock
}

var (
	anna  = &crier.Principal{Name: "anna", Role: crier.RoleEditor, Towns: []string{"soest", "werl"}}
	dora  = &crier.Principal{Name: "dora", Role: crier.RoleEditor, Towns: []string{"soest"}}
	bert  = &crier.Principal{Name: "bert", Role: crier.RoleApprover, Towns: []string{"soest", "werl"}}
	admin = crier.AdminPrincipal
)

func as(p *crier.Principal) context.Context { return crier.NewContext(context.Background(), p) }

func soestNotice() *crier.Announcement {
	return &crier.Announcement{Title: "Wasser abkochen", Body: "Bitte abkochen.", Towns: []string{"soest"}}
}

func mustSubmit(t *testing.T, e *crier.Engine, a *crier.Announcement, o crier.PublishOptions) string {
	t.Helper()
	res, err := e.PublishWith(as(anna), a, "", o)
	if err != nil || res.State != crier.SubmissionPending {
		t.Fatalf("submit: %+v, %v; want pending", res, err)
	}
	return res.Announcement.ID
}

// TestWithdrawAndReasons: only the author or an admin withdraws; a reason
// is required and bounded.
func TestWithdrawAndReasons(t *testing.T) {
	e, db, _, _ := approvalEngine(t)
	id := mustSubmit(t, e, soestNotice(), crier.PublishOptions{})
	if _, err := e.Withdraw(as(dora), id); crier.ErrorCode(err) != crier.EFORBIDDEN || !strings.Contains(err.Error(), "of anna") {
		t.Errorf("another editor withdraws: %v; want forbidden", err)
	}
	if _, err := e.Reject(as(bert), id, strings.Repeat("ä", crier.MaxRejectReason+1)); crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("a reason too long: %v; want invalid", err)
	}
	if _, err := e.Reject(as(bert), id, "\n\t "); crier.ErrorCode(err) != crier.EINVALID {
		t.Errorf("a blank reason: %v; want invalid", err)
	}
	if s, err := e.Withdraw(as(anna), id); err != nil || s.State != crier.SubmissionWithdrawn || s.DecidedBy != "anna" {
		t.Fatalf("withdraw: %+v, %v", s, err)
	}
	if _, err := e.Approve(as(bert), id); crier.ErrorCode(err) != crier.ECONFLICT || !strings.Contains(err.Error(), "withdrawn by anna") {
		t.Errorf("approve a withdrawn one: %v; want a conflict", err)
	}
	id = mustSubmit(t, e, soestNotice(), crier.PublishOptions{})
	if s, err := e.Withdraw(as(admin), id); err != nil || s.DecidedBy != "admin" {
		t.Errorf("the admin withdraws: %+v, %v", s, err)
	}
	if as, err := db.Announcements(t.Context(), 10); err != nil || len(as) != 0 {
		t.Errorf("%d announcements published, %v; want none", len(as), err)
	}
}

// TestApproveOnce: two approvers at once publish a submission once.
func TestApproveOnce(t *testing.T) {
	e, db, _, _ := approvalEngine(t)
	id := mustSubmit(t, e, soestNotice(), crier.PublishOptions{})
	var (
		mu        sync.Mutex
		ok, clash int
		done      sync.WaitGroup
	)
	for _, p := range []*crier.Principal{bert, admin, bert, admin} {
		done.Go(func() {
			_, err := e.Approve(as(p), id)
			mu.Lock()
			defer mu.Unlock()
			switch crier.ErrorCode(err) {
			case "":
				ok++
			case crier.ECONFLICT:
				clash++
			default:
				t.Errorf("approve: %v", err)
			}
		})
	}
	done.Wait()
	if ok != 1 || clash != 3 {
		t.Errorf("%d approvals went through, %d conflicts; want 1 and 3", ok, clash)
	}
	ds, err := db.Deliveries(t.Context(), crier.DeliveryFilter{Announcement: id})
	if err != nil || len(ds) != 1 {
		t.Errorf("%d deliveries, %v; want 1", len(ds), err)
	}
}

// TestApprovalOfUpdates: one pending update at a time; a cancel does not
// wait; approving an update of a canceled notice is a conflict.
func TestApprovalOfUpdates(t *testing.T) {
	e, _, _, _ := approvalEngine(t)
	res, err := e.PublishWith(as(admin), soestNotice(), "", crier.PublishOptions{SkipApproval: true})
	if err != nil || res.Announcement.Approval != crier.EmergencyPublish {
		t.Fatalf("emergency publish: %+v, %v", res, err)
	}
	id := res.Announcement.ID
	up := soestNotice()
	up.Body = "Bitte weiter abkochen."
	if res, err := e.UpdateWith(as(anna), id, up, "", crier.PublishOptions{}); err != nil || res.State != crier.SubmissionPending {
		t.Fatalf("editor's update: %+v, %v; want pending", res, err)
	}
	up2 := soestNotice()
	up2.Body = "Nicht mehr abkochen."
	if _, err := e.UpdateWith(as(anna), id, up2, "", crier.PublishOptions{}); crier.ErrorCode(err) != crier.ECONFLICT {
		t.Errorf("a second pending update: %v; want a conflict", err)
	}
	if res, err := e.Cancel(as(dora), id, "Erledigt.", ""); err != nil || res.State != "" || res.Announcement.Revision != 2 {
		t.Fatalf("cancel: %+v, %v; want revision 2 at once", res, err)
	}
	if _, err := e.Approve(as(bert), id); crier.ErrorCode(err) != crier.ECONFLICT || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("approve an update of a canceled notice: %v; want a conflict", err)
	}
}

// TestApprovalRevalidates: a submission that no longer passes its checks
// when it is approved stays pending, with every problem listed.
func TestApprovalRevalidates(t *testing.T) {
	e, _, _, clock := approvalEngine(t)
	a := soestNotice()
	a.Expires = clock.Now().Add(time.Hour)
	id := mustSubmit(t, e, a, crier.PublishOptions{})
	clock.add(2 * time.Hour)
	_, err := e.Approve(as(bert), id)
	if crier.ErrorCode(err) != crier.EINVALID || len(crier.ErrorDetails(err)) != 1 || crier.ErrorDetails(err)[0].Field != "expires" {
		t.Fatalf("approve an expired notice: %v; want invalid, expires", err)
	}
	if s, err := e.Submissions.Submission(t.Context(), id); err != nil || s.State != crier.SubmissionPending {
		t.Errorf("after the refused approval: %+v, %v; want it pending", s, err)
	}
}

// TestApprovalSchedules: approving a submission with a publish_at to come
// schedules it; the scheduler publishes it then, with author and approver.
func TestApprovalSchedules(t *testing.T) {
	e, db, sched, clock := approvalEngine(t)
	at := clock.Now().Add(3 * time.Hour)
	id := mustSubmit(t, e, soestNotice(), crier.PublishOptions{PublishAt: at})
	res, err := e.Approve(as(bert), id)
	if err != nil || res.Schedule == nil || !res.Schedule.At.Equal(at) || res.State != crier.SubmissionApproved {
		t.Fatalf("approve: %+v, %v; want a schedule at %v", res, err, at)
	}
	if list, _ := db.Announcements(t.Context(), 10); len(list) != 0 {
		t.Fatalf("%d announcements published before their time", len(list))
	}
	clock.add(3 * time.Hour)
	if _, err := sched.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	list, err := db.Announcements(t.Context(), 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("after the schedule's time: %d announcements, %v", len(list), err)
	}
	if a := list[0]; a.Author != "anna" || a.Approver != "bert" || a.Approval != crier.Approved || a.Title != "Wasser abkochen" {
		t.Errorf("published by the schedule: author %q, approver %q, approval %q", a.Author, a.Approver, a.Approval)
	}
}
